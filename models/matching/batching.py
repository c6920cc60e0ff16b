"""Searches of one shard batched while it is busy: concurrent queries share one index pass.

A search that finds the shard idle starts a pass on the event loop's next turn (no timer, so
no wait is added at low load); searches asked in the same turn, or while a pass runs, queue
up, and every queued search with the same account and candidate filter runs as one pass over
their stacked queries (each with the
largest ``limit`` asked, cut back per caller: hits are best first). A fast-scan pass reads
all of an account's codes whatever the number of queries, so under load the shard answers
many queries for the price of a few passes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np

from models.matching.filters import CandidateFilter
from models.matching.shard import Hit

Search = Callable[[str, np.ndarray, CandidateFilter, int], Awaitable[list[list[Hit]]]]


@dataclass
class _Waiting:
    queries: np.ndarray
    limit: int
    done: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class BusyBatcher:
    """Runs ``search`` one pass at a time, merging the searches that wait for a pass.

    ``max_queries`` bounds one pass (a pass over more queries than this is split).
    """

    def __init__(self, search: Search, max_queries: int = 256) -> None:
        self._search = search
        self.max_queries = max_queries
        self._busy = False
        self._queue: dict[tuple[str, CandidateFilter], list[_Waiting]] = {}
        self.passes = 0
        self.queries = 0

    async def search(
        self, account_id: str, queries: np.ndarray, filt: CandidateFilter, limit: int
    ) -> list[list[Hit]]:
        """The best ``limit`` hits per query, as ``search`` gives them."""
        waiting = _Waiting(queries, limit)
        self._queue.setdefault((account_id, filt), []).append(waiting)
        if not self._busy:
            self._busy = True
            asyncio.get_running_loop().create_task(self._drain())
        return await waiting.done

    async def _drain(self) -> None:
        try:
            while self._queue:
                (account_id, filt), group = next(iter(self._queue.items()))
                taken, rest, count = [], [], 0
                for w in group:
                    if count and count + len(w.queries) > self.max_queries:
                        rest.append(w)
                    else:
                        taken.append(w)
                        count += len(w.queries)
                if rest:
                    self._queue[(account_id, filt)] = rest
                else:
                    del self._queue[(account_id, filt)]
                await self._run(account_id, filt, taken)
        finally:
            self._busy = False

    async def _run(self, account_id: str, filt: CandidateFilter, group: list[_Waiting]) -> None:
        stacked = np.concatenate([w.queries for w in group]) if len(group) > 1 else group[0].queries
        limit = max(w.limit for w in group)
        self.passes += 1
        self.queries += len(stacked)
        try:
            hits = await self._search(account_id, stacked, filt, limit)
        except Exception as exc:  # every caller of the pass hears of its failure
            for w in group:
                if not w.done.done():
                    w.done.set_exception(exc)
            return
        start = 0
        for w in group:
            answer = [h[: w.limit] for h in hits[start : start + len(w.queries)]]
            start += len(w.queries)
            if not w.done.done():
                w.done.set_result(answer)

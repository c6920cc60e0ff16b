"""The Ray Serve deployment of one matcher shard (``models.matching.ShardServer``).

Bound by the application builder with the loader (a function of ``serve_app.matching``;
Ray pickles it by reference, so this package needs no import of serve_app), the shard's
index and the shard count, and the shard's settings dict (``index`` and ``loader`` keys,
see ``serve_app.matching.MatcherSettings.shard_settings``). Run one replica per shard:
changes are sent to one replica, so replicas of one shard would drift apart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
from ray import serve

from deployments import metrics
from models.matching import CandidateFilter, FaceRow, Hit, IndexConfig, ShardServer

log = logging.getLogger("ray.serve")

# settings['loader'] -> pages of face rows (all shards' rows; each shard keeps its own)
Loader = Callable[[dict[str, Any]], AsyncIterator[list[FaceRow]]]


@serve.deployment(name="MatcherShard", max_ongoing_requests=64)
class MatcherShard:
    """One shard: loads its faces in the background at start, then applies changes and
    answers searches (searches wait for the load)."""

    async def __init__(
        self, loader: Loader, shard_index: int, shard_count: int, settings: dict[str, Any]
    ) -> None:
        self.server = ShardServer(
            IndexConfig.from_mapping(settings["index"]), shard_index, shard_count
        )
        # The load runs beside the replica's requests: a replica that blocked in its
        # constructor for minutes would be restarted by Serve's start timeout.
        self._shard = str(shard_index)
        self._load = asyncio.get_running_loop().create_task(
            self.server.load(loader(settings.get("loader", {})))
        )
        self._load.add_done_callback(
            lambda _: metrics.INDEX_FACES.set(len(self.server.shard), shard=self._shard)
        )

    async def search(
        self, account_id: str, queries: np.ndarray, filt: CandidateFilter, limit: int
    ) -> list[list[Hit]]:
        """This shard's best ``limit`` faces of the account per query."""
        started = time.perf_counter()
        hits = await self.server.search(account_id, queries, filt, limit)
        metrics.SEARCH_SECONDS.observe(time.perf_counter() - started, shard=self._shard)
        return hits

    async def apply(self, upserts: list[FaceRow], removals: list[str]) -> None:
        """Upsert and remove faces; a search that starts after this returns sees them."""
        await self.server.apply(upserts, removals)
        metrics.INDEX_FACES.set(len(self.server.shard), shard=self._shard)

    async def wait_ready(self, timeout_s: float | None = None) -> None:
        """Return once the initial load is complete; raise if it failed."""
        await self.server.wait_ready(timeout_s)

    async def stats(self) -> dict[str, Any]:
        """Rows, tombstones, accounts with an approximate index, and memory of this shard."""
        batcher = self.server.batcher
        return {
            "shard": self.server.index,
            "ready": self.server.ready,
            "search_passes": batcher.passes,
            "searched_queries": batcher.queries,
            **self.server.shard.stats(),
        }

    async def check_health(self) -> None:
        """A failed load marks the replica unhealthy (Serve restarts it and loads again)."""
        if self._load.done() and not self._load.cancelled() and self._load.exception():
            raise RuntimeError("matcher shard load failed") from self._load.exception()

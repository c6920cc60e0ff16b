"""The Ray Serve deployment of one matcher shard (``models.matching.ShardServer``).

Bound by the application builder with the loader and the change feed's follower factory
(functions of ``serve_app.matching``; Ray pickles them by reference, so this package needs no
import of serve_app), the shard's index and the shard count, and the shard's settings dict
(``index`` and ``loader`` keys, see ``serve_app.matching.MatcherSettings.shard_settings``).

A shard may run several replicas: each loads the faces, then follows the face change feed,
so every replica sees every write whichever replica (or none) a request reached; a search
names the last change its ingress wrote, and a replica behind it catches up first.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import numpy as np
from ray import serve

from deployments import metrics
from models.matching import CandidateFilter, FaceRow, Hit, IndexConfig, ShardServer

log = logging.getLogger("ray.serve")

# settings['loader'] -> pages of face rows (all shards' rows; each shard keeps its own)
Loader = Callable[[dict[str, Any]], AsyncIterator[list[FaceRow]]]
# (settings['loader'], apply) -> start(), which returns (a follower of the feed, its database)
Follower = Callable[[dict[str, Any], Callable[..., Awaitable[None]]], Callable[[], Awaitable[Any]]]
FOLLOW_INTERVAL_S = 0.25


@serve.deployment(name="MatcherShard", max_ongoing_requests=64)
class MatcherShard:
    """One shard: loads its faces in the background at start, then applies changes and
    answers searches (searches wait for the load)."""

    async def __init__(
        self,
        loader: Loader,
        shard_index: int,
        shard_count: int,
        settings: dict[str, Any],
        follower: Follower | None = None,
    ) -> None:
        self.server = ShardServer(
            IndexConfig.from_mapping(settings["index"]), shard_index, shard_count
        )
        self._shard = str(shard_index)
        self.follower: Any = None
        self._follow_interval_s = float(settings.get("follow_interval_s", FOLLOW_INTERVAL_S))
        # The load runs beside the replica's requests: a replica that blocked in its
        # constructor for minutes would be restarted by Serve's start timeout.
        self._load = asyncio.get_running_loop().create_task(
            self._start(loader, settings.get("loader", {}), follower)
        )
        self._load.add_done_callback(
            lambda _: metrics.INDEX_FACES.set(len(self.server.shard), shard=self._shard)
        )

    async def _start(
        self, loader: Loader, settings: dict[str, Any], follower: Follower | None
    ) -> None:
        if follower is not None:
            # The feed's end is read before the load: what is written during it is applied
            # after (a face applied twice reads its current state).
            self.follower, _ = await follower(settings, self._apply_followed)()
        await self.server.load(loader(settings))
        if self.follower is not None:
            self._follow = asyncio.get_running_loop().create_task(
                self.follower.follow(self._follow_interval_s)
            )

    async def _apply_followed(self, upserts: list[FaceRow], removals: list[str]) -> None:
        await self.server.apply(upserts, removals)
        metrics.INDEX_FACES.set(len(self.server.shard), shard=self._shard)

    async def search(
        self,
        account_id: str,
        queries: np.ndarray,
        filt: CandidateFilter,
        limit: int,
        min_change: int = 0,
    ) -> list[list[Hit]]:
        """This shard's best ``limit`` faces of the account per query, once every change up
        to ``min_change`` (the last its caller wrote) is applied here."""
        started = time.perf_counter()
        await self.server.wait_ready()
        if min_change and self.follower is not None:
            await self.follower.wait_for(min_change)
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

"""Matcher shards over Ray Serve: one ``deployments.matcher.MatcherShard`` deployment each."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from ray.exceptions import RayActorError

from models.matching import CandidateFilter
from models.matching.batching import BusyBatcher
from serve_app.matching import changes
from serve_app.matching.api import FaceMatch, Matcher, Shards
from serve_app.storage.db import Database

log = logging.getLogger(__name__)


class DeployedShards(Shards):
    """Shard ``i`` is ``handles[i]`` (a DeploymentHandle of ``matcher_shard_i``), with one
    replica or several; the shards read the database themselves when they start.

    Changes go through the face change feed (``serve_app.matching.changes``): ``refresh``
    appends them and every replica of the shards follows it. Each search names the last
    change this ingress wrote, so a replica behind it catches up first (read-your-writes
    from any replica). A search that meets a dead replica is sent again (searches change
    nothing): Serve routes the retry to a live one.

    Searches are batched here too, before the hop: the searches of this ingress that wait for
    a shard (same account and filter) go to it as one call with their queries stacked, so
    Ray's per-call cost is paid per batch, not per search (the shard merges the calls of
    several ingress replicas in turn).
    """

    def __init__(
        self, handles: Sequence[Any], load_timeout_s: float = 3600.0, retries: int = 3
    ) -> None:
        if not handles:
            raise ValueError("a matcher needs at least one shard")
        self.handles = list(handles)
        self.count = len(self.handles)
        self.load_timeout_s = load_timeout_s
        self.retries = retries
        self.written = 0  # the last change this ingress appended to the feed
        self._batchers = [BusyBatcher(self._searcher(handle)) for handle in self.handles]

    def _searcher(self, handle: Any):
        async def search(account_id, queries, candidates, limit):
            for attempt in range(self.retries + 1):
                try:
                    return await handle.search.remote(
                        account_id, queries, candidates, limit, self.written
                    )
                except RayActorError:
                    if attempt == self.retries:
                        raise
                    log.warning("matcher shard replica died during a search; sending it again")
                    await asyncio.sleep(0.05 * 2**attempt)
            raise AssertionError("not reached")

        return search

    async def start(self) -> None:
        """Wait for every shard's load."""
        await asyncio.gather(*(h.wait_ready.remote(self.load_timeout_s) for h in self.handles))
        sizes = await asyncio.gather(*(h.stats.remote() for h in self.handles))
        log.info("matcher: %d shards ready: %s", len(self.handles), sizes)

    async def search(
        self, account_id: str, queries: np.ndarray, candidates: CandidateFilter, limit: int
    ) -> list[list[list[FaceMatch]]]:
        """Every shard deployment at once."""
        return await asyncio.gather(
            *(b.search(account_id, queries, candidates, limit) for b in self._batchers)
        )

    async def refresh(
        self,
        database: Database,
        account_id: str,
        face_ids: Sequence[str],
        descriptor_version: int,
        dims: int,
    ) -> None:
        """Append the changes to the feed; the replicas read the faces themselves."""
        if face_ids:
            self.written = max(self.written, await changes.record(database, account_id, face_ids))


def deployed_matcher(
    database: Database,
    handles: Sequence[Any],
    descriptor_version: int,
    dims: int,
    load_timeout_s: float = 3600.0,
) -> Matcher:
    """A matcher whose shards are Ray Serve deployments."""
    shards = DeployedShards(handles, load_timeout_s)
    return Matcher(database, shards, descriptor_version, dims)

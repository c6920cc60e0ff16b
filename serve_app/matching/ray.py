"""Matcher shards over Ray Serve: one ``deployments.matcher.MatcherShard`` deployment each."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from models.matching import CandidateFilter, FaceRow
from models.matching.batching import BusyBatcher
from serve_app.matching.api import FaceMatch, Matcher, Shards
from serve_app.storage.db import Database

log = logging.getLogger(__name__)


class DeployedShards(Shards):
    """Shard ``i`` is ``handles[i]`` (a DeploymentHandle of ``matcher_shard_i``); the shards
    read the database themselves when they start. Each shard deployment must run one
    replica: a change reaches one replica.

    Searches are batched here too, before the hop: the searches of this ingress that wait for
    a shard (same account and filter) go to it as one call with their queries stacked, so
    Ray's per-call cost is paid per batch, not per search (the shard merges the calls of
    several ingress replicas in turn).
    """

    def __init__(self, handles: Sequence[Any], load_timeout_s: float = 3600.0) -> None:
        if not handles:
            raise ValueError("a matcher needs at least one shard")
        self.handles = list(handles)
        self.count = len(self.handles)
        self.load_timeout_s = load_timeout_s
        self._batchers = [BusyBatcher(handle.search.remote) for handle in self.handles]

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

    async def apply(self, shard: int, rows: list[FaceRow], removals: list[str]) -> None:
        """Send shard ``shard`` its changes."""
        await self.handles[shard].apply.remote(rows, removals)


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

"""The matcher over Ray Serve: one ``deployments.matcher.MatcherShard`` deployment per shard."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from models.matching import CandidateFilter, shard_of
from serve_app.matching.api import FaceMatch, Matcher
from serve_app.matching.loader import read_faces
from serve_app.storage.db import Database

log = logging.getLogger(__name__)


class RayMatcher(Matcher):
    """Shard ``i`` is ``handles[i]`` (a DeploymentHandle of ``matcher_shard_i``). A search
    goes to every shard at once; a refresh reads the database here and sends each shard only
    its faces. Each shard deployment must run one replica: a change reaches one replica."""

    def __init__(
        self,
        database: Database,
        handles: Sequence[Any],
        descriptor_version: int,
        dims: int,
        load_timeout_s: float = 3600.0,
    ) -> None:
        super().__init__(descriptor_version, dims)
        if not handles:
            raise ValueError("a matcher needs at least one shard")
        self.database = database
        self.handles = list(handles)
        self.load_timeout_s = load_timeout_s

    async def start(self) -> None:
        """Wait for every shard's load (the shards read the database themselves)."""
        await asyncio.gather(*(h.wait_ready.remote(self.load_timeout_s) for h in self.handles))
        sizes = await asyncio.gather(*(h.stats.remote() for h in self.handles))
        log.info("matcher: %d shards ready: %s", len(self.handles), sizes)

    async def _search_shards(
        self, account_id: str, queries: np.ndarray, candidates: CandidateFilter, limit: int
    ) -> list[list[list[FaceMatch]]]:
        """Every shard deployment at once."""
        return await asyncio.gather(
            *(h.search.remote(account_id, queries, candidates, limit) for h in self.handles)
        )

    async def refresh_faces(self, account_id: str, face_ids: Sequence[str]) -> None:
        """Read the faces, then update only the shards that hold them."""
        rows, removals = await read_faces(
            self.database, account_id, face_ids, self.descriptor_version, self.dims
        )
        count = len(self.handles)
        upserts: dict[int, list] = {}
        removed: dict[int, list[str]] = {}
        for row in rows:
            upserts.setdefault(shard_of(row.face_id, count), []).append(row)
        for face_id in removals:
            removed.setdefault(shard_of(face_id, count), []).append(face_id)
        await asyncio.gather(
            *(
                self.handles[i].apply.remote(upserts.get(i, []), removed.get(i, []))
                for i in sorted(set(upserts) | set(removed))
            )
        )

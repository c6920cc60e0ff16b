"""What the ingress calls to match faces: the :class:`Matcher`, and the transports its shards
are reached through (:class:`Shards`: in this process, or Ray deployments), as estimators
have theirs."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from models.matching import CandidateFilter, FaceRow, Hit, merge_topk, shard_of
from serve_app.errors import DESCRIPTOR_VERSION, LunaError
from serve_app.matching.loader import read_faces
from serve_app.policies import FaceCandidates, policy_time
from serve_app.storage.db import Database

# A face found by a search: face_id, cosine, external_id, user_data, create_time, list_ids.
FaceMatch = Hit


class Shards(ABC):
    """How the matcher reaches its shards; shard ``i`` holds the faces ``shard_of`` gives it."""

    count: int

    @abstractmethod
    async def start(self) -> None:
        """Return when every shard has loaded its faces from the database and answers."""

    @abstractmethod
    async def search(
        self, account_id: str, queries: np.ndarray, candidates: CandidateFilter, limit: int
    ) -> list[list[list[FaceMatch]]]:
        """Each shard's top-k per query, every shard searched at once."""

    async def refresh(
        self,
        database: Database,
        account_id: str,
        face_ids: Sequence[str],
        descriptor_version: int,
        dims: int,
    ) -> None:
        """Bring the shards up to date with these faces as the database holds them now; every
        later search sees them. By default: read them and send each shard its own."""
        rows, removals = await read_faces(database, account_id, face_ids, descriptor_version, dims)
        upserts: dict[int, list[FaceRow]] = {}
        removed: dict[int, list[str]] = {}
        for row in rows:
            upserts.setdefault(shard_of(row.face_id, self.count), []).append(row)
        for face_id in removals:
            removed.setdefault(shard_of(face_id, self.count), []).append(face_id)
        await asyncio.gather(
            *(
                self.apply(i, upserts.get(i, []), removed.get(i, []))
                for i in sorted(set(upserts) | set(removed))
            )
        )

    async def apply(self, shard: int, rows: list[FaceRow], removals: list[str]) -> None:
        """Upsert and remove faces of shard ``shard``; seen by every later search."""
        raise NotImplementedError(f"{type(self).__name__} refreshes otherwise")


class Matcher:
    """Top-k search of an account's faces, kept current with the database.

    Cosines are returned; the caller maps them to LUNA's similarity with the descriptor
    model's calibration. Every search is within one account.
    """

    def __init__(
        self, database: Database, shards: Shards, descriptor_version: int, dims: int
    ) -> None:
        self.database = database
        self.shards = shards
        self.descriptor_version = descriptor_version
        self.dims = dims

    async def start(self) -> None:
        """Build the index from the database (logging progress); return when it answers."""
        await self.shards.start()

    async def search(
        self,
        account_id: str,
        vectors: np.ndarray,
        version: int,
        candidates: CandidateFilter,
        limit: int,
    ) -> list[list[FaceMatch]]:
        """For each of ``vectors`` (Q, D), the best ``limit`` faces of ``account_id`` that
        ``candidates`` admit, best first (cosine descending, then face_id): every shard's
        top-k, searched at once, merged per query."""
        queries = self.check_queries(vectors, version)
        per_shard = await self.shards.search(account_id, queries, candidates, limit)
        return [merge_topk((hits[q] for hits in per_shard), limit) for q in range(len(queries))]

    async def refresh_faces(self, account_id: str, face_ids: Sequence[str]) -> None:
        """Re-read these faces of ``account_id`` from the database and update the index:
        one call after a face is created, updated, linked, unlinked, upgraded or removed.
        When it returns, every later search of this matcher sees the change
        (read-your-writes)."""
        await self.shards.refresh(
            self.database, account_id, face_ids, self.descriptor_version, self.dims
        )

    def check_queries(self, vectors: np.ndarray, version: int) -> np.ndarray:
        """The queries as a (Q, D) float32 array; a descriptor of another model version or
        size is refused with LUNA's descriptor version error."""
        if version != self.descriptor_version:
            raise LunaError(
                DESCRIPTOR_VERSION,
                version,
                f"faces are matched by version {self.descriptor_version}",
            )
        queries = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if queries.ndim != 2 or queries.shape[1] != self.dims:
            raise LunaError(DESCRIPTOR_VERSION, version, f"it has {self.dims} dimensions")
        return queries


def candidate_filter(candidates: FaceCandidates) -> CandidateFilter:
    """The matcher's filter from a match policy's candidates of origin ``faces``."""
    return CandidateFilter(
        list_id=str(candidates.list_id) if candidates.list_id is not None else None,
        face_ids=tuple(str(f) for f in candidates.face_ids)
        if candidates.face_ids is not None
        else None,
        external_ids=tuple(candidates.external_ids)
        if candidates.external_ids is not None
        else None,
        user_data=candidates.user_data,
        create_time__gte=policy_time(candidates.create_time__gte),
        create_time__lt=policy_time(candidates.create_time__lt),
        face_id__gte=str(candidates.face_id__gte) if candidates.face_id__gte is not None else None,
        face_id__lt=str(candidates.face_id__lt) if candidates.face_id__lt is not None else None,
    )

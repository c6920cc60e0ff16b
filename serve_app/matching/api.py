"""What the ingress calls to match faces: the :class:`Matcher` interface and its helpers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from models.matching import CandidateFilter, Hit, merge_topk
from serve_app.errors import DESCRIPTOR_VERSION, LunaError
from serve_app.policies import FaceCandidates, policy_time

# A face found by a search: face_id, cosine, external_id, user_data, create_time, list_ids.
FaceMatch = Hit


class Matcher(ABC):
    """Top-k search of an account's faces, kept current with the database.

    Cosines are returned; the caller maps them to LUNA's similarity with the descriptor
    model's calibration. Every search is within one account.
    """

    def __init__(self, descriptor_version: int, dims: int) -> None:
        self.descriptor_version = descriptor_version
        self.dims = dims

    @abstractmethod
    async def start(self) -> None:
        """Build the index from the database (logging progress); return when it answers."""

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
        per_shard = await self._search_shards(account_id, queries, candidates, limit)
        return [merge_topk((hits[q] for hits in per_shard), limit) for q in range(len(queries))]

    @abstractmethod
    async def _search_shards(
        self, account_id: str, queries: np.ndarray, candidates: CandidateFilter, limit: int
    ) -> list[list[list[FaceMatch]]]:
        """Each shard's top-k per query."""

    @abstractmethod
    async def refresh_faces(self, account_id: str, face_ids: Sequence[str]) -> None:
        """Re-read these faces of ``account_id`` from the database and update the index:
        one call after a face is created, updated, linked, unlinked, upgraded or removed.
        When it returns, every later search sees the change (read-your-writes)."""

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

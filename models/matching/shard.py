"""An index shard: face descriptors of many accounts, searchable per account with filters.

Each account is a partition of its own (its rows, its key maps, its approximate index once
large), so a search touches only the account's rows: isolation holds by construction, and a
small account costs nothing to a large one. Rows are append-only; removing or changing a
descriptor leaves a tombstone, and a partition whose dead rows outnumber its live ones is
compacted. The approximate indexes are in ``approximate.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import faiss
import numpy as np

from models.matching.approximate import ApproximateIndex, build_index
from models.matching.config import IndexConfig
from models.matching.filters import NO_FILTER, CandidateFilter
from models.matching.topk import exact_topk

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIN_COMPACT = 1024
# PQ codebooks (16 centroids per sub-quantizer) and IVF cells need rows to learn from.
_MIN_APPROXIMATE = 1024


@dataclass(frozen=True)
class FaceRow:
    """One face as the index holds it: its descriptor of one version and filterable fields."""

    face_id: str
    account_id: str
    descriptor: np.ndarray
    descriptor_version: int
    create_time: datetime
    list_ids: tuple[str, ...] = ()
    external_id: str = ""
    user_data: str = ""


@dataclass(frozen=True)
class Hit:
    """A face found by a search, with its cosine to the query and its stored fields."""

    face_id: str
    cosine: float
    external_id: str
    user_data: str
    create_time: datetime
    list_ids: tuple[str, ...]


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _grow(array: np.ndarray, capacity: int, dtype: np.dtype | None = None) -> np.ndarray:
    grown = np.zeros((capacity, *array.shape[1:]), dtype=dtype or array.dtype)
    grown[: len(array)] = array
    return grown


class _Partition:
    """The rows of one account.

    Vectors are float32 while the account is small (exact search is one BLAS product) and
    float16 from ``half_above`` rows on, where an approximate index reads only the few
    thousand rows it re-ranks: half the memory of a large shard.
    """

    def __init__(self, dims: int, half_above: int | None = None) -> None:
        self.dims = dims
        self.half_above = half_above
        self.n = 0
        self.dead = 0
        self.vectors = np.zeros((0, dims), np.float32)
        self.alive = np.zeros(0, bool)
        self.create_us = np.zeros(0, np.int64)
        # Fixed-width bytes so that face_id ranges compare vectorised (36 bytes a row).
        self.face_id_bytes = np.zeros(0, "S36")
        self.face_ids: list[str] = []
        self.external_ids: list[str] = []
        self.user_data: list[str] = []
        self.list_ids: list[tuple[str, ...]] = []
        self.row_of: dict[str, int] = {}
        self.by_list: dict[str, set[int]] = {}
        self.by_external: dict[str, set[int]] = {}
        self.ann: ApproximateIndex | None = None

    @property
    def live(self) -> int:
        return self.n - self.dead

    def reserve(self, extra: int) -> None:
        need = self.n + extra
        if need <= len(self.alive):
            return
        # Grow by a quarter, not double: at a million rows doubling leaves up to half the
        # vector memory unused (measured: 3.1 instead of 2.0 GiB per million after a load).
        capacity = max(need, len(self.alive) + max(1024, len(self.alive) // 4))
        dtype = self.vectors.dtype
        if self.half_above is not None and need > self.half_above:
            dtype = np.dtype(np.float16)
        self.vectors = _grow(self.vectors, capacity, dtype)
        self.alive = _grow(self.alive, capacity)
        self.create_us = _grow(self.create_us, capacity)
        self.face_id_bytes = _grow(self.face_id_bytes, capacity)

    def append(self, row: FaceRow, vector: np.ndarray) -> int:
        r = self.n
        self.vectors[r] = vector
        self.alive[r] = True
        self.create_us[r] = _micros(row.create_time)
        self.face_id_bytes[r] = row.face_id.encode()
        self.face_ids.append(row.face_id)
        self.external_ids.append(row.external_id)
        self.user_data.append(row.user_data)
        self.list_ids.append(tuple(row.list_ids))
        self.n += 1
        self.row_of[row.face_id] = r
        self._link(r)
        return r

    def trim(self) -> None:
        """Drop unused capacity beyond a little headroom (after a bulk load)."""
        capacity = self.n + max(1024, self.n // 64)
        if capacity < len(self.alive):
            self.vectors = self.vectors[:capacity].copy()
            self.alive = self.alive[:capacity].copy()
            self.create_us = self.create_us[:capacity].copy()
            self.face_id_bytes = self.face_id_bytes[:capacity].copy()

    def holds(self, r: int, vector: np.ndarray) -> bool:
        """Whether row ``r`` holds ``vector`` at the stored precision."""
        return np.array_equal(self.vectors[r], vector.astype(self.vectors.dtype))

    def set_fields(self, r: int, row: FaceRow) -> None:
        """Change a live row's fields in place (same descriptor: link, unlink, user_data)."""
        self._unlink(r)
        self.create_us[r] = _micros(row.create_time)
        self.external_ids[r] = row.external_id
        self.user_data[r] = row.user_data
        self.list_ids[r] = tuple(row.list_ids)
        self._link(r)

    def kill(self, r: int) -> None:
        self._unlink(r)
        del self.row_of[self.face_ids[r]]
        self.alive[r] = False
        self.dead += 1

    def _link(self, r: int) -> None:
        for list_id in self.list_ids[r]:
            self.by_list.setdefault(list_id, set()).add(r)
        if self.external_ids[r]:
            self.by_external.setdefault(self.external_ids[r], set()).add(r)

    def _unlink(self, r: int) -> None:
        for list_id in self.list_ids[r]:
            rows = self.by_list.get(list_id)
            if rows is not None:
                rows.discard(r)
                if not rows:
                    del self.by_list[list_id]
        rows = self.by_external.get(self.external_ids[r])
        if rows is not None:
            rows.discard(r)
            if not rows:
                del self.by_external[self.external_ids[r]]

    def select(self, filt: CandidateFilter) -> np.ndarray | None:
        """Live rows the filter admits, ascending; None for all live rows (no filter)."""
        if filt.selects_by_key:
            keyed: list[set[int]] = []
            if filt.face_ids is not None:
                keyed.append({self.row_of[f] for f in filt.face_ids if f in self.row_of})
            if filt.external_ids is not None:
                keyed.append(set().union(*(self.by_external.get(e, ()) for e in filt.external_ids)))
            if filt.list_id is not None:
                keyed.append(self.by_list.get(filt.list_id, set()))
            keyed.sort(key=len)
            chosen = keyed[0].intersection(*keyed[1:]) if len(keyed) > 1 else keyed[0]
            rows = np.fromiter(sorted(chosen), np.int64, len(chosen))
        elif filt.has_row_predicates:
            rows = np.flatnonzero(self.alive[: self.n])
        else:
            return None
        return self._apply_predicates(rows, filt)

    def _apply_predicates(self, rows: np.ndarray, filt: CandidateFilter) -> np.ndarray:
        keep = np.ones(len(rows), bool)
        if filt.create_time__gte is not None:
            keep &= self.create_us[rows] >= _micros(filt.create_time__gte)
        if filt.create_time__lt is not None:
            keep &= self.create_us[rows] < _micros(filt.create_time__lt)
        if filt.face_id__gte is not None:
            keep &= self.face_id_bytes[rows] >= filt.face_id__gte.encode()
        if filt.face_id__lt is not None:
            keep &= self.face_id_bytes[rows] < filt.face_id__lt.encode()
        rows = rows[keep]
        if filt.user_data is not None:
            wanted = filt.user_data
            rows = rows[[wanted in self.user_data[r] for r in rows.tolist()]]
        return rows

    def hit(self, r: int, cosine: float) -> Hit:
        return Hit(
            face_id=self.face_ids[r],
            cosine=cosine,
            external_id=self.external_ids[r],
            user_data=self.user_data[r],
            create_time=_EPOCH + timedelta(microseconds=int(self.create_us[r])),
            list_ids=self.list_ids[r],
        )


class IndexShard:
    """Descriptors of one version, of many accounts; thread-safe.

    ``upsert`` and ``remove`` keep the shard current; ``search`` answers per account. All
    public methods take one lock: a search sees every change made before it started.
    """

    def __init__(self, config: IndexConfig, seed: int = 0) -> None:
        self.config = config
        self._parts: dict[str, _Partition] = {}
        self._account_of: dict[str, str] = {}
        self._lock = threading.RLock()
        self._rng = np.random.default_rng(seed)
        # Blocks of a fast-scan index are scanned in parallel for one query.
        self._executor = None
        if config.threads > 1:
            # One faiss thread inside each worker: the workers are the parallelism, and
            # OpenMP threads spinning beside them would take their cores.
            self._executor = ThreadPoolExecutor(
                config.threads, initializer=faiss.omp_set_num_threads, initargs=(1,)
            )

    def __len__(self) -> int:
        with self._lock:
            return sum(p.live for p in self._parts.values())

    def accounts(self) -> dict[str, int]:
        """Live descriptors per account."""
        with self._lock:
            return {a: p.live for a, p in self._parts.items() if p.live}

    def stats(self) -> dict[str, object]:
        """Rows, tombstones, approximate partitions and vector memory of this shard."""
        with self._lock:
            parts = list(self._parts.values())
            return {
                "descriptors": sum(p.live for p in parts),
                "tombstones": sum(p.dead for p in parts),
                "accounts": sum(1 for p in parts if p.live),
                "approximate_accounts": sum(1 for p in parts if p.ann is not None),
                "vector_bytes": sum(p.vectors.nbytes for p in parts)
                + sum(p.ann.nbytes for p in parts if p.ann is not None),
            }

    def upsert(self, rows: Iterable[FaceRow], maintain: bool = True) -> int:
        """Add or replace faces; returns how many are indexed.

        A row of another descriptor version removes the face from the index instead (a face
        without a descriptor of the configured version cannot be matched). A row whose
        descriptor is unchanged only updates its fields, so linking and unlinking are cheap.
        """
        indexed = 0
        with self._lock:
            fresh: dict[str, list[tuple[FaceRow, np.ndarray]]] = {}
            for row in rows:
                if row.descriptor_version != self.config.descriptor_version:
                    self._remove_one(row.face_id)
                    continue
                vector = self._unit(row.descriptor)
                old_account = self._account_of.get(row.face_id)
                if old_account is not None and old_account != row.account_id:
                    self._remove_one(row.face_id)
                part = self._parts.get(row.account_id) or self._new_partition(row.account_id)
                r = part.row_of.get(row.face_id)
                if r is not None and part.holds(r, vector):
                    part.set_fields(r, row)
                    indexed += 1
                    continue
                if r is not None:
                    self._remove_one(row.face_id)
                fresh.setdefault(row.account_id, []).append((row, vector))
            for account_id, items in fresh.items():
                part = self._parts[account_id]
                part.reserve(len(items))
                for row, vector in items:
                    # A face given twice in one call: the later row wins.
                    if row.face_id in part.row_of:
                        self._remove_one(row.face_id)
                    part.append(row, vector)
                    self._account_of[row.face_id] = account_id
                indexed += len(items)
                if part.ann is not None:
                    part.ann.catch_up(part.vectors, part.alive, part.n)
            if maintain:
                for account_id in fresh:
                    self._maintain(account_id)
        return indexed

    def remove(self, face_ids: Iterable[str]) -> int:
        """Remove faces from the index; returns how many were there."""
        with self._lock:
            removed = sum(self._remove_one(face_id) for face_id in face_ids)
            for account_id in list(self._parts):
                self._maintain(account_id)
        return removed

    def maintain(self) -> None:
        """Build, retrain or compact every partition that needs it, and drop the capacity
        the growth left unused (after a bulk load)."""
        with self._lock:
            for account_id in list(self._parts):
                self._maintain(account_id)
                if account_id in self._parts:
                    self._parts[account_id].trim()

    def search(
        self,
        account_id: str,
        queries: np.ndarray,
        filt: CandidateFilter = NO_FILTER,
        limit: int = 10,
    ) -> list[list[Hit]]:
        """The best ``limit`` faces of ``account_id`` the filter admits, per query, best first
        (cosine descending, then face_id)."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if queries.shape[1] != self.config.dims:
            raise ValueError(f"queries have {queries.shape[1]} dimensions, not {self.config.dims}")
        with self._lock:
            part = self._parts.get(account_id)
            if part is None or part.live == 0 or limit <= 0:
                return [[] for _ in queries]
            rows = part.select(filt)
            if rows is not None and len(rows) == 0:
                return [[] for _ in queries]
            answer = None
            if part.ann is not None and (rows is None or len(rows) > self.config.exact_below):
                answer = self._approximate(part, queries, rows, limit)
            scores, ids = answer or self._exact(part, queries, rows, limit)
            return [
                sorted(
                    (part.hit(int(r), float(s)) for s, r in zip(srow, irow, strict=True) if r >= 0),
                    key=lambda h: (-h.cosine, h.face_id),
                )
                for srow, irow in zip(scores, ids, strict=True)
            ]

    def _exact(
        self, part: _Partition, queries: np.ndarray, rows: np.ndarray | None, limit: int
    ) -> tuple[np.ndarray, np.ndarray]:
        if rows is None:
            if part.dead == 0:
                return exact_topk(queries, part.vectors[: part.n], limit)
            rows = np.flatnonzero(part.alive[: part.n])
        scores, positions = exact_topk(queries, part.vectors[rows], limit)
        return scores, rows[positions]

    @staticmethod
    def _approximate(
        part: _Partition, queries: np.ndarray, rows: np.ndarray | None, limit: int
    ) -> tuple[np.ndarray, np.ndarray] | None:
        assert part.ann is not None
        if rows is None:
            admitted, count = part.alive[: part.n], part.live
        else:
            admitted = np.zeros(part.n, bool)
            admitted[rows] = True
            count = len(rows)
        return part.ann.search(
            queries, part.vectors, admitted, count, limit, filtered=rows is not None
        )

    def _new_partition(self, account_id: str) -> _Partition:
        part = _Partition(self.config.dims, self.config.half_above)
        self._parts[account_id] = part
        return part

    def _unit(self, descriptor: np.ndarray) -> np.ndarray:
        vector = np.asarray(descriptor, dtype=np.float32).reshape(-1)
        if vector.size != self.config.dims:
            raise ValueError(f"descriptor has {vector.size} dimensions, not {self.config.dims}")
        norm = float(np.linalg.norm(vector))
        if not np.isfinite(norm) or norm == 0.0:
            raise ValueError("descriptor is zero or not finite")
        return vector / norm

    def _remove_one(self, face_id: str) -> bool:
        account_id = self._account_of.pop(face_id, None)
        if account_id is None:
            return False
        part = self._parts[account_id]
        r = part.row_of[face_id]
        part.kill(r)
        if part.ann is not None:
            part.ann.remove(r)
        return True

    def _maintain(self, account_id: str) -> None:
        part = self._parts[account_id]
        if part.live == 0:
            del self._parts[account_id]
            return
        if part.dead > max(_MIN_COMPACT, part.live):
            self._compact(part)
        threshold = max(self.config.exact_below, _MIN_APPROXIMATE)
        if self.config.index == "flat" or part.live < threshold:
            if part.ann is not None and part.live < self.config.exact_below // 2:
                part.ann = None  # shrunk well below the threshold: exact is cheaper again
            return
        if part.ann is None or part.live >= part.ann.trained_at * self.config.retrain_growth:
            part.ann = build_index(
                self.config, part.vectors, part.alive, part.n, self._rng, self._executor
            )

    def _compact(self, part: _Partition) -> None:
        live = np.flatnonzero(part.alive[: part.n])
        fresh = _Partition(part.dims, part.half_above)
        fresh.reserve(len(live))
        for r in live.tolist():
            row = FaceRow(
                face_id=part.face_ids[r],
                account_id="",
                descriptor=part.vectors[r],
                descriptor_version=0,
                create_time=_EPOCH + timedelta(microseconds=int(part.create_us[r])),
                list_ids=part.list_ids[r],
                external_id=part.external_ids[r],
                user_data=part.user_data[r],
            )
            fresh.append(row, part.vectors[r])
        if part.ann is not None:
            part.ann.restart(fresh.vectors, fresh.n)  # row numbers changed; training holds
        fresh.ann = part.ann
        part.__dict__.update(fresh.__dict__)


def search_candidates(
    queries: np.ndarray, candidates: np.ndarray, ids: Sequence[str], limit: int
) -> list[list[tuple[str, float]]]:
    """Exact top-``limit`` of each query among given descriptors (raw verification, events as
    candidates): ``ids[i]`` names ``candidates[i]``; best first."""
    scores, positions = exact_topk(queries, candidates, limit)
    return [
        [(ids[int(p)], float(s)) for s, p in zip(srow, prow, strict=True)]
        for srow, prow in zip(scores, positions, strict=True)
    ]

"""An index shard: face descriptors of many accounts, searchable per account with filters.

Each account is a partition of its own (its rows, its key maps, its IVF index once large), so
a search touches only the account's rows: isolation holds by construction, and a small
account costs nothing to a large one. Rows are append-only; removing or changing a
descriptor leaves a tombstone (and removes the id from the IVF index), and a partition whose
dead rows outnumber its live ones is compacted.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import faiss
import numpy as np

from models.matching.config import IndexConfig
from models.matching.filters import NO_FILTER, CandidateFilter
from models.matching.topk import exact_topk

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIN_COMPACT = 1024


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


def _grow(array: np.ndarray, capacity: int) -> np.ndarray:
    grown = np.zeros((capacity, *array.shape[1:]), dtype=array.dtype)
    grown[: len(array)] = array
    return grown


class _Partition:
    """The rows of one account."""

    def __init__(self, dims: int) -> None:
        self.dims = dims
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
        self.ann: faiss.IndexIVF | None = None
        self.trained_at = 0

    @property
    def live(self) -> int:
        return self.n - self.dead

    def reserve(self, extra: int) -> None:
        need = self.n + extra
        if need <= len(self.alive):
            return
        capacity = max(need, 2 * len(self.alive), 1024)
        self.vectors = _grow(self.vectors, capacity)
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
                "ivf_accounts": sum(1 for p in parts if p.ann is not None),
                "vector_bytes": sum(p.vectors.nbytes for p in parts)
                + sum(p.ann.ntotal * p.ann.code_size for p in parts if p.ann is not None),
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
                part = self._parts.setdefault(row.account_id, _Partition(self.config.dims))
                r = part.row_of.get(row.face_id)
                if r is not None and np.array_equal(part.vectors[r], vector):
                    part.set_fields(r, row)
                    indexed += 1
                    continue
                if r is not None:
                    self._remove_one(row.face_id)
                fresh.setdefault(row.account_id, []).append((row, vector))
            for account_id, items in fresh.items():
                part = self._parts[account_id]
                part.reserve(len(items))
                start = part.n
                for row, vector in items:
                    # A face given twice in one call: the later row wins.
                    if row.face_id in part.row_of:
                        self._remove_one(row.face_id)
                    part.append(row, vector)
                    self._account_of[row.face_id] = account_id
                indexed += len(items)
                if part.ann is not None:
                    new = np.arange(start, part.n)
                    new = new[part.alive[new]]
                    part.ann.add_with_ids(part.vectors[new], new)
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
        """Build, retrain or compact every partition that needs it (after a bulk load)."""
        with self._lock:
            for account_id in list(self._parts):
                self._maintain(account_id)

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
            if part.ann is None or (rows is not None and len(rows) <= self.config.exact_below):
                scores, ids = self._exact(part, queries, rows, limit)
            else:
                scores, ids = self._approximate(part, queries, rows, limit)
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

    def _approximate(
        self, part: _Partition, queries: np.ndarray, rows: np.ndarray | None, limit: int
    ) -> tuple[np.ndarray, np.ndarray]:
        assert part.ann is not None
        params = faiss.SearchParametersIVF()
        params.nprobe = min(self.config.nprobe, part.ann.nlist)
        bitmap = None
        if rows is not None:
            mask = np.zeros(part.n, bool)
            mask[rows] = True
            bitmap = np.packbits(mask, bitorder="little")
            params.sel = faiss.IDSelectorBitmap(part.n, faiss.swig_ptr(bitmap))
        admitted = part.live if rows is None else len(rows)
        k = min(limit, admitted)
        quantized = self.config.index == "ivf_sq8"
        wide = min(admitted, k * self.config.rerank) if quantized else k
        # faiss splits a batch by query (mode 0); with fewer queries than threads, split
        # each query's cells instead (mode 1), so one query uses every thread.
        part.ann.parallel_mode = 1 if len(queries) < self.config.threads else 0
        scores, ids = part.ann.search(queries, wide, params=params)
        del bitmap  # the selector read it during the search
        if rows is not None and np.any(ids[:, k - 1] < 0):
            # The probed cells held fewer admitted rows than asked for: a selective filter.
            return self._exact(part, queries, rows, limit)
        if quantized:
            scores, ids = self._rerank(part, queries, ids, k)
        return scores, ids

    @staticmethod
    def _rerank(
        part: _Partition, queries: np.ndarray, ids: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        # 8-bit codes order the candidates roughly; their float vectors order them exactly
        # and give the cosines returned.
        out_scores = np.full((len(queries), k), -np.inf, np.float32)
        out_ids = np.full((len(queries), k), -1, np.int64)
        for q, row_ids in enumerate(ids):
            found = row_ids[row_ids >= 0]
            scores, positions = exact_topk(queries[q : q + 1], part.vectors[found], k)
            out_scores[q, : positions.shape[1]] = scores[0]
            out_ids[q, : positions.shape[1]] = found[positions[0]]
        return out_scores, out_ids

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
            part.ann.remove_ids(np.array([r], np.int64))
        return True

    def _maintain(self, account_id: str) -> None:
        part = self._parts[account_id]
        if part.live == 0:
            del self._parts[account_id]
            return
        if part.dead > max(_MIN_COMPACT, part.live):
            self._compact(part)
        if self.config.index == "flat" or part.live < self.config.exact_below:
            if part.ann is not None and part.live < self.config.exact_below // 2:
                part.ann = None  # shrunk well below the threshold: exact is cheaper again
            return
        if part.ann is None or part.live >= part.trained_at * self.config.retrain_growth:
            self._train(part)

    def _train(self, part: _Partition) -> None:
        live = np.flatnonzero(part.alive[: part.n])
        nlist = min(self.config.lists_for(len(live)), max(1, len(live) // 39))
        sample_size = min(len(live), nlist * self.config.train_points_per_list)
        sample = part.vectors[np.sort(self._rng.choice(live, sample_size, replace=False))]
        quantizer = faiss.IndexFlatIP(part.dims)
        if self.config.index == "ivf_sq8":
            index = faiss.IndexIVFScalarQuantizer(
                quantizer,
                part.dims,
                nlist,
                faiss.ScalarQuantizer.QT_8bit,
                faiss.METRIC_INNER_PRODUCT,
            )
        else:
            index = faiss.IndexIVFFlat(quantizer, part.dims, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.spherical = True  # centroids on the sphere, like the descriptors
        index.train(sample)
        for start in range(0, len(live), 100_000):
            chunk = live[start : start + 100_000]
            index.add_with_ids(part.vectors[chunk], chunk)
        part.ann = index
        part.trained_at = len(live)

    def _compact(self, part: _Partition) -> None:
        live = np.flatnonzero(part.alive[: part.n])
        fresh = _Partition(part.dims)
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
            part.ann.reset()  # keeps the trained cells; ids are row numbers, which changed
            part.ann.add_with_ids(fresh.vectors[: fresh.n], np.arange(fresh.n))
        fresh.ann, fresh.trained_at = part.ann, part.trained_at
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

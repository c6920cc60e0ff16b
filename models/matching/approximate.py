"""Approximate indexes of one account's rows: 4-bit PQ fast-scan over every row, or IVF cells.

An index answers with *candidates* (row numbers of the partition); the shard orders them on
the float vectors, which it keeps anyway for exact search (float16 in a large partition: the
helpers here hand faiss float32 a chunk at a time). Row numbers are the partition's
append order, so an index only ever catches up with new rows (``catch_up``) and forgets
removed ones (``remove``, or the alive mask at search time).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from concurrent.futures import Executor

import faiss
import numpy as np

from models.matching.config import IndexConfig
from models.matching.topk import best_k

Answer = tuple[np.ndarray, np.ndarray]  # (scores, rows), both (queries, k), best first

_TRAIN_SAMPLE = 65_536  # PQ codebooks: 16 centroids per sub-quantizer learn from far fewer
_ADD_CHUNK = 65_536  # rows converted to float32 at a time when adding half-precision rows


def as_float32(vectors: np.ndarray) -> np.ndarray:
    """Rows as contiguous float32 (what faiss and BLAS take), whatever the stored precision."""
    return np.ascontiguousarray(vectors, dtype=np.float32)


class ApproximateIndex(ABC):
    """An approximate index of one partition's rows."""

    trained_at: int  # live rows when it was trained (retrain after ``retrain_growth``)

    @abstractmethod
    def catch_up(self, vectors: np.ndarray, alive: np.ndarray, n: int) -> None:
        """Index rows from the last one indexed up to row ``n`` (exclusive)."""

    @abstractmethod
    def remove(self, row: int) -> None:
        """Forget one row (its descriptor was removed or replaced)."""

    @abstractmethod
    def restart(self, vectors: np.ndarray, n: int) -> None:
        """Forget every row and index rows ``0..n`` again (after compaction renumbered them),
        keeping what was trained."""

    @abstractmethod
    def search(
        self,
        queries: np.ndarray,
        vectors: np.ndarray,
        admitted: np.ndarray,
        count: int,
        limit: int,
        filtered: bool,
    ) -> Answer | None:
        """Best ``limit`` admitted rows per query, scored exactly on ``vectors``.

        ``admitted`` is a boolean mask over the rows (live, and passing the filter if
        ``filtered``) holding ``count`` rows. None when the index cannot answer a filtered
        selection well (too few admitted rows among those it scanned): the caller searches
        those rows exactly.
        """

    @property
    @abstractmethod
    def nbytes(self) -> int:
        """Memory held by codes (the float vectors are the partition's)."""


def build_index(
    config: IndexConfig,
    vectors: np.ndarray,
    alive: np.ndarray,
    n: int,
    rng: np.random.Generator,
    executor: Executor | None,
) -> ApproximateIndex:
    """Train an index of ``config.index`` kind on the live rows and index rows ``0..n``."""
    live = np.flatnonzero(alive[:n])
    index: ApproximateIndex
    if config.index == "fastscan":
        index = FastScanIndex(config, vectors, live, rng, executor)
    else:
        index = IvfIndex(config, vectors, live, rng)
    index.catch_up(vectors, alive, n)
    return index


def rerank(queries: np.ndarray, vectors: np.ndarray, candidates: np.ndarray, k: int) -> Answer:
    """Order each query's candidate rows (-1 = none) on the float vectors (float32 or float16);
    the best ``k``, ties to the lower row."""
    out_scores = np.full((len(queries), k), -np.inf, np.float32)
    out_rows = np.full((len(queries), k), -1, np.int64)
    for q, rows in enumerate(candidates):
        found = np.sort(rows[rows >= 0])  # ascending, so that ties go to the lower row
        # einsum, not a BLAS product: OpenBLAS threads a product of a few thousand rows, and
        # its threads spinning beside the other block's worker doubled the latency at 1M.
        scores = np.einsum("ij,j->i", as_float32(vectors[found]), queries[q])
        top = min(k, len(found))
        best, positions = best_k(scores[None], top)
        out_scores[q, :top] = best[0]
        out_rows[q, :top] = found[positions[0]]
    return out_scores, out_rows


class FastScanIndex(ApproximateIndex):
    """Every row as a 4-bit product-quantized code (``pq_m`` sub-quantizers after a random
    rotation, ``dims / 8`` bytes a row), scanned in full with faiss' SIMD fast-scan; the best
    ``refine`` codes are re-ranked on the float vectors.

    A full scan has no coverage loss: descriptors spread over ~200 dimensions (as ArcFace's
    do) have no cells to skip, and recall is set by ``refine`` alone. The rows are held in
    blocks of about ``rows / threads``, scanned in parallel for a single query. Removed rows
    keep their codes until compaction and are dropped from the candidates by the alive mask.
    """

    def __init__(
        self,
        config: IndexConfig,
        vectors: np.ndarray,
        live: np.ndarray,
        rng: np.random.Generator,
        executor: Executor | None,
    ) -> None:
        self.config = config
        self.executor = executor
        m = config.pq_m or config.dims // 4
        self.trained = faiss.index_factory(
            config.dims, f"RR{config.dims},PQ{m}x4fs", faiss.METRIC_INNER_PRODUCT
        )
        sample = live if len(live) <= _TRAIN_SAMPLE else rng.choice(live, _TRAIN_SAMPLE, False)
        self.trained.train(as_float32(vectors[np.sort(sample)]))
        self.code_bytes = m // 2
        self.trained_at = len(live)
        self.block_rows = max(4096, math.ceil(max(1, len(live)) / config.threads))
        self.blocks: list[faiss.Index] = []
        self.starts: list[int] = []
        self.n = 0

    def catch_up(self, vectors: np.ndarray, alive: np.ndarray, n: int) -> None:
        while self.n < n:
            if not self.blocks or self.blocks[-1].ntotal >= self.block_rows:
                self.blocks.append(faiss.clone_index(self.trained))
                self.starts.append(self.n)
            block = self.blocks[-1]
            stop = min(n, self.n + self.block_rows - block.ntotal, self.n + _ADD_CHUNK)
            block.add(as_float32(vectors[self.n : stop]))
            self.n = stop

    def remove(self, row: int) -> None:
        pass  # the alive mask drops it; compaction drops its code

    def restart(self, vectors: np.ndarray, n: int) -> None:
        self.blocks, self.starts, self.n = [], [], 0
        self.catch_up(vectors, np.ones(n, bool), n)

    @property
    def nbytes(self) -> int:
        return self.n * self.code_bytes

    def search(
        self,
        queries: np.ndarray,
        vectors: np.ndarray,
        admitted: np.ndarray,
        count: int,
        limit: int,
        filtered: bool,
    ) -> Answer | None:
        k = min(limit, count)
        # Removed and filtered-out rows are scanned too: ask for more codes in proportion.
        wanted = max(self.config.refine, k)
        scanned = min(self.n, math.ceil(wanted * self.n / count))
        if scanned > 20 * wanted:
            return None  # a selective filter: its rows, searched exactly, cost less

        def one(b: int) -> tuple[Answer, np.ndarray]:
            # Each block re-ranks its share of the candidates, so the re-ranking (random
            # reads of float rows) is split over the threads as well as the scan.
            block, start = self.blocks[b], self.starts[b]
            share = min(block.ntotal, math.ceil(scanned * block.ntotal / self.n))
            _, rows = block.search(queries, share)
            rows = np.where(rows >= 0, rows + start, -1)
            rows = np.where(admitted[np.maximum(rows, 0)], rows, -1)
            return rerank(queries, vectors, rows, k), (rows >= 0).sum(axis=1)

        if self.executor is not None and len(self.blocks) > 1 and len(queries) == 1:
            answers = list(self.executor.map(one, range(len(self.blocks))))
        else:
            # A batch already keeps every faiss thread busy, one query each.
            answers = [one(b) for b in range(len(self.blocks))]
        if np.any(sum(kept for _, kept in answers) < k):
            return None
        scores = np.concatenate([a[0] for a, _ in answers], axis=1)
        rows = np.concatenate([a[1] for a, _ in answers], axis=1)
        best = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(scores, best, axis=1), np.take_along_axis(rows, best, axis=1)


class IvfIndex(ApproximateIndex):
    """IVF cells (spherical k-means, ``nlist`` of them) over the float vectors (``ivf``) or
    8-bit codes (``ivf_sq8``, whose best ``rerank * limit`` are re-ranked on the floats);
    ``nprobe`` cells searched. A filtered search passes its selection as a bitmap."""

    def __init__(
        self, config: IndexConfig, vectors: np.ndarray, live: np.ndarray, rng: np.random.Generator
    ) -> None:
        self.config = config
        dims = vectors.shape[1]
        nlist = min(config.lists_for(len(live)), max(1, len(live) // 39))
        sample_size = min(len(live), nlist * config.train_points_per_list)
        sample = as_float32(vectors[np.sort(rng.choice(live, sample_size, replace=False))])
        quantizer = faiss.IndexFlatIP(dims)
        if config.index == "ivf_sq8":
            self.ivf: faiss.IndexIVF = faiss.IndexIVFScalarQuantizer(
                quantizer, dims, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
            )
        else:
            self.ivf = faiss.IndexIVFFlat(quantizer, dims, nlist, faiss.METRIC_INNER_PRODUCT)
        self.ivf.cp.spherical = True  # centroids on the sphere, like the descriptors
        self.ivf.train(sample)
        self.quantizer = quantizer  # the IVF index does not own it: keep it alive
        self.trained_at = len(live)
        self.n = 0

    @property
    def nlist(self) -> int:
        return self.ivf.nlist

    def catch_up(self, vectors: np.ndarray, alive: np.ndarray, n: int) -> None:
        for start in range(self.n, n, 100_000):
            rows = np.arange(start, min(n, start + 100_000))
            rows = rows[alive[rows]]
            self.ivf.add_with_ids(as_float32(vectors[rows]), rows)
        self.n = max(self.n, n)

    def remove(self, row: int) -> None:
        self.ivf.remove_ids(np.array([row], np.int64))

    def restart(self, vectors: np.ndarray, n: int) -> None:
        self.ivf.reset()  # keeps the trained cells
        self.n = 0
        self.catch_up(vectors, np.ones(n, bool), n)

    @property
    def nbytes(self) -> int:
        return self.ivf.ntotal * self.ivf.code_size

    def search(
        self,
        queries: np.ndarray,
        vectors: np.ndarray,
        admitted: np.ndarray,
        count: int,
        limit: int,
        filtered: bool,
    ) -> Answer | None:
        params = faiss.SearchParametersIVF()
        params.nprobe = min(self.config.nprobe, self.ivf.nlist)
        bitmap = None
        if filtered:  # removed rows are out of the cells already
            bitmap = np.packbits(admitted[: self.n], bitorder="little")
            params.sel = faiss.IDSelectorBitmap(self.n, faiss.swig_ptr(bitmap))
        k = min(limit, count)
        quantized = self.config.index == "ivf_sq8"
        wide = min(count, k * self.config.rerank) if quantized else k
        # faiss splits a batch by query (mode 0); with fewer queries than threads, split
        # each query's cells instead (mode 1), so one query uses every thread.
        self.ivf.parallel_mode = 1 if len(queries) < self.config.threads else 0
        scores, rows = self.ivf.search(queries, wide, params=params)
        del bitmap  # the selector read it during the search
        if filtered and np.any(rows[:, k - 1] < 0):
            return None  # the probed cells held fewer admitted rows than asked for
        if quantized:
            return rerank(queries, vectors, rows, k)
        return scores, rows

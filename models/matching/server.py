"""One shard served asynchronously: built from pages of rows, kept current, searched in a
worker thread. The Ray deployment and the in-process matcher both wrap this class."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

from models.matching.batching import BusyBatcher
from models.matching.config import IndexConfig
from models.matching.filters import CandidateFilter
from models.matching.shard import FaceRow, Hit, IndexShard
from models.matching.sharding import shard_of
from models.matching.topk import configure_faiss

log = logging.getLogger(__name__)
T = TypeVar("T")

PROGRESS_EVERY_S = 5.0


class ShardServer:
    """Shard ``index`` of ``count``: loads its faces, applies changes, answers searches.

    Changes may arrive while the initial load still runs; a face changed that way is skipped
    by the rest of the load (its page may have been read before the change), so the load never
    puts back an older state. Searches wait until the load is complete: a half-built index
    would answer wrongly without saying so.
    """

    def __init__(self, config: IndexConfig, index: int = 0, count: int = 1) -> None:
        if not 0 <= index < count:
            raise ValueError(f"shard index {index} is not within 0..{count - 1}")
        # For this thread too: a caller may search ``self.shard`` directly (the benchmarks).
        configure_faiss(config.threads, config.blas_threshold)
        # OpenMP's thread count is per thread: a thread that never set it starts from
        # OMP_NUM_THREADS, which Ray sets to 1 in its workers. The shard's work runs on
        # threads that set it, or a served shard searched batches on one core.
        self._executor = ThreadPoolExecutor(
            2,
            thread_name_prefix=f"shard{index}",
            initializer=configure_faiss,
            initargs=(config.threads, config.blas_threshold),
        )
        self.config = config
        self.index = index
        self.count = count
        self.shard = IndexShard(config, seed=index)
        self._ready = asyncio.Event()
        self._touched: set[str] | None = None
        self._failed: BaseException | None = None
        self._started = self._last_log = 0.0
        self._seen = self._indexed = 0
        self.batcher = BusyBatcher(self._search_now)

    async def _in_thread(self, call: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(call, *args))

    @property
    def ready(self) -> bool:
        """Whether the initial load is complete."""
        return self._ready.is_set()

    def owns(self, face_id: str) -> bool:
        """Whether this shard holds ``face_id``."""
        return shard_of(face_id, self.count) == self.index

    async def load(self, pages: AsyncIterator[list[FaceRow]]) -> int:
        """Index every row of ``pages`` that belongs here, logging progress; returns how many
        rows were indexed. Rows of other shards are skipped (the loader may send all)."""
        self.begin_load()
        try:
            async for page in pages:
                await self.load_page(page)
        except BaseException as exc:
            self.fail_load(exc)
            raise
        return await self.end_load()

    def begin_load(self) -> None:
        """Start an initial load (:meth:`load` does this; a caller feeding several shards from
        one pass over the database calls these steps itself)."""
        self._touched = set()
        self._started = self._last_log = time.monotonic()
        self._seen = self._indexed = 0

    async def load_page(self, page: list[FaceRow]) -> None:
        """Index this shard's rows of one page, except faces changed since the load began."""
        assert self._touched is not None, "begin_load first"
        self._seen += len(page)
        mine = [r for r in page if self.owns(r.face_id) and r.face_id not in self._touched]
        self._indexed += await self._in_thread(self.shard.upsert, mine, False)
        if time.monotonic() - self._last_log >= PROGRESS_EVERY_S:
            self._last_log = time.monotonic()
            log.info(
                "matcher shard %d/%d: %d faces read, %d indexed, %.0f s",
                self.index,
                self.count,
                self._seen,
                self._indexed,
                self._last_log - self._started,
            )

    async def end_load(self) -> int:
        """Build the IVF indexes the load calls for and start answering searches; returns
        how many rows were indexed."""
        try:
            await self._in_thread(self.shard.maintain)
        except BaseException as exc:
            self.fail_load(exc)
            raise
        self._touched = None
        log.info(
            "matcher shard %d/%d ready: %s in %.1f s",
            self.index,
            self.count,
            self.shard.stats(),
            time.monotonic() - self._started,
        )
        self._ready.set()
        return self._indexed

    def fail_load(self, exc: BaseException) -> None:
        """Record a failed load: waiting and later searches raise instead of hanging."""
        self._failed = exc
        self._touched = None
        self._ready.set()

    def mark_ready(self) -> None:
        """Serve without an initial load (an empty database, tests)."""
        self._ready.set()

    async def wait_ready(self, timeout_s: float | None = None) -> None:
        """Return once the shard answers searches; raise if its load failed."""
        await asyncio.wait_for(self._ready.wait(), timeout_s)
        if self._failed is not None:
            raise RuntimeError(f"matcher shard {self.index} failed to load") from self._failed

    async def apply(self, upserts: list[FaceRow], removals: list[str]) -> None:
        """Upsert and remove faces of this shard (others are ignored); visible to every search
        that starts after this returns."""
        upserts = [r for r in upserts if self.owns(r.face_id)]
        removals = [f for f in removals if self.owns(f)]
        if self._touched is not None:
            self._touched.update(r.face_id for r in upserts)
            self._touched.update(removals)
        if removals:
            await self._in_thread(self.shard.remove, removals)
        if upserts:
            await self._in_thread(self.shard.upsert, upserts)

    async def search(
        self, account_id: str, queries: np.ndarray, filt: CandidateFilter, limit: int
    ) -> list[list[Hit]]:
        """This shard's best ``limit`` hits per query; concurrent searches share passes
        (:class:`~models.matching.batching.BusyBatcher`)."""
        await self.wait_ready()
        return await self.batcher.search(account_id, queries, filt, limit)

    async def _search_now(
        self, account_id: str, queries: np.ndarray, filt: CandidateFilter, limit: int
    ) -> list[list[Hit]]:
        return await self._in_thread(self.shard.search, account_id, queries, filt, limit)

"""Concurrent searches of a shard share passes, and each caller still gets its own answer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import numpy as np
import pytest

from models.matching import CandidateFilter
from models.matching.batching import BusyBatcher

NONE = CandidateFilter()


class FakeIndex:
    """A search that answers, for each query row, hits named after the row's first value,
    and records the passes it was asked for."""

    def __init__(self, delay: float = 0.01, fail: bool = False) -> None:
        self.passes: list[tuple[str, int, int]] = []
        self.delay, self.fail = delay, fail

    async def search(self, account, queries, filt, limit):
        self.passes.append((account, len(queries), limit))
        await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("index broke")
        return [[(f"{account}:{q[0]:g}:{k}",) for k in range(limit)] for q in queries]


def query(value: float, rows: int = 1) -> np.ndarray:
    return np.full((rows, 4), value, np.float32)


async def test_an_idle_shard_searches_at_once_and_a_busy_one_merges_what_waits():
    index = FakeIndex()
    batcher = BusyBatcher(index.search)
    first = asyncio.create_task(batcher.search("a", query(0), NONE, 3))
    await asyncio.sleep(0.002)  # its pass is running
    rest = await asyncio.gather(*(batcher.search("a", query(i), NONE, 3) for i in range(1, 10)))
    answers = [await first, *rest]
    # The first ran alone; the nine that arrived while it ran shared the next pass.
    assert index.passes == [("a", 1, 3), ("a", 9, 3)]
    for i, answer in enumerate(answers):
        assert answer == [[(f"a:{i}:{k}",) for k in range(3)]]


async def test_accounts_and_filters_are_never_merged_and_limits_are_cut_per_caller():
    index = FakeIndex()
    batcher = BusyBatcher(index.search)
    listed = CandidateFilter(list_id="l1")
    calls = [batcher.search("a", query(0), NONE, 1), batcher.search("a", query(1), NONE, 1),
             batcher.search("a", query(2), NONE, 4), batcher.search("b", query(3), NONE, 1),
             batcher.search("a", query(4), listed, 1)]  # fmt: skip
    first, second, third, other, filtered = await asyncio.gather(*calls)
    assert first == [[("a:0:0",)]]
    # Asked at once, they wait for one pass per account and filter, with the largest limit.
    assert sorted(index.passes) == [("a", 1, 1), ("a", 3, 4), ("b", 1, 1)]
    assert second == [[("a:1:0",)]] and third == [[(f"a:2:{k}",) for k in range(4)]]
    assert other == [[("b:3:0",)]] and filtered == [[("a:4:0",)]]


async def test_a_pass_is_bounded_and_a_failure_reaches_every_caller_of_its_pass():
    index = FakeIndex()
    batcher = BusyBatcher(index.search, max_queries=8)
    await asyncio.gather(*(batcher.search("a", query(i, rows=3), NONE, 1) for i in range(7)))
    assert max(rows for _, rows, _ in index.passes) <= 8
    assert sum(rows for _, rows, _ in index.passes) == 21

    broken = BusyBatcher(FakeIndex(fail=True).search)
    results = await asyncio.gather(
        *(broken.search("a", query(i), NONE, 1) for i in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)
    # The batcher recovers: the next search runs.
    healthy = BusyBatcher(FakeIndex().search)
    assert await healthy.search("a", query(5), NONE, 1) == [[("a:5:0",)]]


@pytest.mark.parametrize("concurrency", [1, 16])
async def test_a_real_shard_answers_concurrent_searches_as_it_answers_one(concurrency):
    from models.matching import FaceRow, IndexConfig, ShardServer

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(300, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    server = ShardServer(IndexConfig.from_mapping({"descriptor_version": 1, "dims": 32}))
    server.begin_load()
    rows = [
        FaceRow(f"{i:08d}-0000-4000-8000-000000000000", "acc", v, 1, datetime.now(UTC))
        for i, v in enumerate(vectors)
    ]
    await server.load_page(rows)
    await server.end_load()
    queries = vectors[:concurrency] + 0.05 * rng.normal(size=(concurrency, 32)).astype(np.float32)
    alone = [await server.search("acc", q[None], NONE, 5) for q in queries]
    together = await asyncio.gather(*(server.search("acc", q[None], NONE, 5) for q in queries))
    assert [[h.face_id for h in a[0]] for a in alone] == [
        [h.face_id for h in t[0]] for t in together
    ]
    assert server.batcher.passes <= concurrency + max(2, concurrency)


class FakeHandle:
    """A deployment handle whose ``search.remote`` is the fake index (what Ray would call)."""

    def __init__(self, index: FakeIndex) -> None:
        async def remote(account, queries, filt, limit, min_change):
            return await index.search(account, queries, filt, limit)

        self.search = type("Method", (), {"remote": staticmethod(remote)})()


async def test_the_ingress_sends_concurrent_searches_to_a_deployed_shard_in_few_calls():
    from serve_app.matching.ray import DeployedShards

    indexes = [FakeIndex(), FakeIndex()]
    shards = DeployedShards([FakeHandle(i) for i in indexes])
    answers = await asyncio.gather(
        *(shards.search("a", query(v), NONE, 2) for v in range(10))
    )
    # Asked in one turn of the loop, the ten searches reach each shard as one call.
    for index in indexes:
        assert [rows for _, rows, _ in index.passes] == [10]
    for v, per_shard in enumerate(answers):
        assert per_shard[0] == per_shard[1] == [[(f"a:{v}:0",), (f"a:{v}:1",)]]


def test_a_shard_searches_with_its_threads_where_the_environment_says_one():
    """Ray starts its workers with OMP_NUM_THREADS=1; OpenMP's thread count is per thread,
    so a shard whose searches ran on fresh threads scanned batches on one core there."""
    import os
    import subprocess
    import sys

    probe = (
        "import asyncio, faiss\n"
        "from models.matching import IndexConfig, ShardServer\n"
        "async def main():\n"
        "    server = ShardServer(IndexConfig(descriptor_version=1, dims=8, threads=2))\n"
        "    print(await server._in_thread(faiss.omp_get_max_threads))\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "2"

"""Matcher shard under concurrent searches: batched while busy (the shard's BusyBatcher) against
one search per request (as before), beside the same index searched in batches directly.

    .venv/bin/python bench/bench_matcher_batching.py --size 100000 --concurrency 1,8,32
    .venv/bin/python bench/bench_matcher_batching.py --size 1000000 --ray   # through Serve

Synthetic ArcFace-like descriptors as bench/bench_matcher.py makes them; one account, the
default fast-scan index. ``direct batch 32`` is the index's own throughput on batches of 32
queries in this process (the ceiling); ``served`` is ``ShardServer.search`` called by
``concurrency`` clients at once, one query each, as the matcher deployment answers requests;
``unbatched`` sends each of those searches to the index on its own (worker threads).
With ``--ray`` the same shard also runs as the matcher's Serve deployment (``MatcherShard``,
on a local Ray) and ``through Ray`` rows are that many clients searching through the
ingress's own shard client (``DeployedShards``, which batches before the hop): what a
search costs the ingress.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_matcher import ACCOUNT, DIMS, VERSION, Faces
from models.matching import CandidateFilter, FaceRow, IndexConfig, ShardServer

NONE = CandidateFilter()


async def synthetic_pages(settings: dict) -> AsyncIterator[list[FaceRow]]:
    """The bench's faces as the shard deployment's loader pages (made in the replica)."""
    faces = Faces(settings["size"], 512)
    for start in range(0, settings["size"], 100_000):
        yield faces.rows(start, start + 100_000)


async def through_ray(options: argparse.Namespace, config: IndexConfig, queries, direct: float):
    """Rows of the shard as its Serve deployment, searched through a handle."""
    import dataclasses

    import ray
    from ray import serve

    from deployments.matcher import MatcherShard
    from serve_app.matching.ray import DeployedShards

    root = str(Path(__file__).resolve().parents[1])
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        logging_level="ERROR",
        runtime_env={"env_vars": {"PYTHONPATH": root}},
    )
    settings = {"index": dataclasses.asdict(config), "loader": {"size": options.size}}
    app = MatcherShard.options(
        ray_actor_options={"num_cpus": 0}, logging_config={"enable_access_log": False}
    ).bind(
        synthetic_pages, 0, 1, settings
    )
    handle = serve.run(app, name="bench", route_prefix=None)
    started = time.perf_counter()
    await handle.wait_ready.remote(3600)
    print(f"deployment loaded in {time.perf_counter() - started:.0f} s")

    shards = DeployedShards([handle])

    async def search(account, q, filt, limit):
        return (await shards.search(account, q, filt, limit))[0]

    for level in (int(c) for c in options.concurrency.split(",")):
        rate, latencies = await clients(search, queries, level, options.seconds)
        p50, p99 = (float(np.percentile(latencies, p)) * 1e3 for p in (50, 99))
        name = f"through Ray c={level}"
        print(f"{name:<26}{rate:10.0f}{p50:9.1f}{p99:9.1f}{rate / direct:10.2f}")
    serve.shutdown()
    ray.shutdown()


async def clients(search, queries: np.ndarray, concurrency: int, seconds: float):
    """Queries/s and latencies of ``concurrency`` clients posting one query at a time."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def client() -> None:
        while time.perf_counter() < deadline:
            q = queries[next(counter) % len(queries)][None]
            t0 = time.perf_counter()
            await search(ACCOUNT, q, NONE, 10)
            latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return len(latencies) / (time.perf_counter() - start), latencies


async def main() -> None:
    """Build one shard, then print queries/s and latency per way of searching."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ray", action="store_true", help="also through the Serve deployment")
    options = parser.parse_args()
    faces = Faces(options.size, 512)
    config = IndexConfig(descriptor_version=VERSION, dims=DIMS, threads=options.threads,
                         exact_below=1000)  # fmt: skip
    server = ShardServer(config)
    server.begin_load()
    started = time.perf_counter()
    await server.load_page(faces.rows())
    await server.end_load()
    print(f"{options.size} faces, fast-scan, {options.threads} threads; "
          f"built in {time.perf_counter() - started:.0f} s")  # fmt: skip

    shard, queries = server.shard, faces.queries
    batches = [queries[i : i + 32] for i in range(0, len(queries), 32)]
    t0 = time.perf_counter()
    for batch in batches:
        shard.search(ACCOUNT, batch, NONE, 10)
    direct = len(queries) / (time.perf_counter() - t0)
    print(f"\n{'':<26}{'queries/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'vs direct':>10}")
    print(f"{'direct batch 32':<26}{direct:10.0f}{'':>9}{'':>9}{1.0:10.2f}")

    async def unbatched(account, q, filt, limit):
        return await asyncio.to_thread(shard.search, account, q, filt, limit)

    for level in (int(c) for c in options.concurrency.split(",")):
        for label, search in (("served", server.search), ("unbatched", unbatched)):
            rate, latencies = await clients(search, queries, level, options.seconds)
            p50, p99 = (float(np.percentile(latencies, p)) * 1e3 for p in (50, 99))
            name = f"{label} c={level}"
            print(f"{name:<26}{rate:10.0f}{p50:9.1f}{p99:9.1f}{rate / direct:10.2f}")
    if options.ray:
        queries = queries.copy()
        del server, shard, faces
        gc.collect()  # the deployment builds its own copy of the shard
        await through_ray(options, config, queries, direct)


if __name__ == "__main__":
    asyncio.run(main())

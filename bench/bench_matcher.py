"""Matcher benchmark: top-10 search latency and throughput of an index shard, exact and
approximate (fast-scan PQ, IVF), beside brute force in numpy on the same data; build time,
memory and recall@10.

Synthetic descriptors shaped like ArcFace's (not uniform noise): identities are random
centres drawn with a decaying spectrum (variance of component i ~ i^-0.6), so that cosines
between identities have mean 0 and std ~0.07 (the project's ArcFace MBF impostor pairs range
-0.15..0.23, docs/estimators.md); each stored face and each query is its identity's centre
plus noise, giving cosines ~0.6-0.75 within an identity. Identities hold 1-6 faces (3 on
average); queries are new samples of stored identities.

    .venv/bin/python bench/bench_matcher.py --sizes 10000,100000,1000000 --threads 2
    .venv/bin/python bench/bench_matcher.py --sizes 10000 --queries 200     # a quick run
    .venv/bin/python bench/bench_matcher.py --index ivf_sq8 --nprobe 128,512  # IVF sweeps
    .venv/bin/python bench/bench_matcher.py --sizes 2000000 --refine 2500 --memory  # 10M sizing

``--memory`` traces the shard's allocations while it is built (slower): the "shard MiB"
column is everything the shard holds (vectors, codes, row fields and maps), measured.
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np

from models.matching import FaceRow, IndexConfig, IndexShard, configure_faiss

DIMS = 512
VERSION = 1001
ACCOUNT = "00000000-0000-4000-8000-000000000000"
NOISE = 0.68  # noise norm relative to the centre: cos(sample, sample) ~ 1 / (1 + 0.68^2)
GENUINE_COSINE = 0.30  # the calibration's verification threshold (similarity 0.5)


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1."""
    return x / np.linalg.norm(x, axis=1, keepdims=True)


class Faces:
    """Identities, stored faces and queries for one size."""

    def __init__(self, size: int, queries: int, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        spectrum = np.arange(1, DIMS + 1, dtype=np.float32) ** -0.3
        self.spectrum = spectrum / np.sqrt(np.mean(spectrum**2))
        identities = max(1, size // 3)
        self.centres = unit(self.gauss(identities))
        self.identity = self.rng.integers(0, identities, size)
        self.identity[:identities] = np.arange(identities)  # every identity stored at least once
        self.vectors = np.empty((size, DIMS), np.float32)
        for start in range(0, size, 100_000):
            stop = min(size, start + 100_000)
            self.vectors[start:stop] = self.sample(self.identity[start:stop])
        self.query_identity = self.rng.integers(0, identities, queries)
        self.queries = self.sample(self.query_identity)

    def gauss(self, n: int) -> np.ndarray:
        return self.rng.standard_normal((n, DIMS), dtype=np.float32) * self.spectrum

    def sample(self, identities: np.ndarray) -> np.ndarray:
        return unit(self.centres[identities] + NOISE * unit(self.gauss(len(identities))))

    def rows(self, start: int = 0, stop: int | None = None) -> list[FaceRow]:
        """Stored faces ``start..stop`` as the shard's rows."""
        now = datetime.now(UTC)
        stop = len(self.vectors) if stop is None else min(stop, len(self.vectors))
        return [
            FaceRow(f"{i:036d}", ACCOUNT, self.vectors[i], VERSION, now)
            for i in range(start, stop)
        ]


def percentiles(seconds: list[float]) -> tuple[float, float, float]:
    """p50 and p99 in ms, and queries/s of a sequential run."""
    ms = np.array(seconds) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), 1e3 / float(ms.mean())


def timed(fn, queries: np.ndarray) -> tuple[list[float], list]:
    """Call ``fn`` on one query at a time; the latencies and the answers."""
    latencies, answers = [], []
    for q in queries:
        started = time.perf_counter()
        answers.append(fn(q[None]))
        latencies.append(time.perf_counter() - started)
    return latencies, answers


def numpy_topk(vectors: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    """Brute force: all inner products, then the best k."""
    scores = vectors @ query[0]
    best = np.argpartition(-scores, k)[:k]
    return best[np.argsort(-scores[best])]


def build(faces: Faces, kind: str, args: argparse.Namespace) -> tuple[IndexShard, float, float]:
    """A shard of ``kind`` holding every face; the load and load + index build seconds."""
    config = IndexConfig(
        descriptor_version=VERSION,
        dims=DIMS,
        index=kind,
        exact_below=min(args.exact_below, len(faces.vectors)),
        nprobe=args.nprobe[0],
        rerank=args.rerank,
        refine=args.refine[0],
        threads=args.threads,
        large_vectors=args.large_vectors,
    )
    if args.memory:
        gc.collect()
        tracemalloc.start()
    shard = IndexShard(config)
    started = time.perf_counter()
    for start in range(0, len(faces.vectors), 100_000):  # pages, as the loader reads them
        shard.upsert(faces.rows(start, start + 100_000), maintain=False)
    loaded = time.perf_counter() - started
    shard.maintain()
    built = time.perf_counter() - started
    if args.memory:
        gc.collect()
        # faiss' codes are C++ memory tracemalloc does not see: stats() counts them.
        SHARD_BYTES[id(shard)] = tracemalloc.get_traced_memory()[0] + shard.stats()[
            "vector_bytes"
        ] - shard._parts[ACCOUNT].vectors.nbytes
        tracemalloc.stop()
    return shard, loaded, built


def search_ids(shard: IndexShard, k: int):
    """One query -> the face ids the shard answers, best first."""
    return lambda q: [h.face_id for h in shard.search(ACCOUNT, q, limit=k)[0]]


def batch_qps(shard: IndexShard, queries: np.ndarray, k: int) -> float:
    """Queries/s of one search call with a batch of queries."""
    started = time.perf_counter()
    shard.search(ACCOUNT, queries, limit=k)
    return len(queries) / (time.perf_counter() - started)


def run(size: int, args: argparse.Namespace) -> list[str]:
    """Table rows (and build rows, printed at the end) for one size."""
    faces = Faces(size, args.queries)
    k, n = args.k, f"{size:,}"
    checked = faces.queries[: args.exact_queries]
    impostor = (faces.vectors[:2000] @ faces.vectors[2000:4000].T).ravel()
    numpy_lat, numpy_answers = timed(lambda q: numpy_topk(faces.vectors, q, k), checked)
    truth = [[f"{j:036d}" for j in a] for a in numpy_answers]
    # Genuine matches: stored faces of the query's identity at or above the threshold.
    genuine = []
    for i, q in enumerate(checked):
        same = np.flatnonzero(faces.identity == faces.query_identity[i])
        same = same[faces.vectors[same] @ q >= GENUINE_COSINE]
        genuine.append({f"{j:036d}" for j in same[np.argsort(-(faces.vectors[same] @ q))][:k]})
    p50, p99, qps = percentiles(numpy_lat)
    rows = [f"| {n} | numpy brute force | {p50:.2f} | {p99:.2f} | {qps:.0f} | | 1 | 1 | 1 |"]
    for number, kind in enumerate(args.index):
        shard, loaded, built = build(faces, kind, args)
        stats = shard.stats()
        traced = SHARD_BYTES.pop(id(shard), None)
        BUILDS.append(
            f"| {n} | {kind} | {args.large_vectors} | {loaded:.1f} | {built:.1f} "
            f"| {stats['vector_bytes'] / 2**30 / size * 1e6:.2f} "
            f"| {f'{traced / 2**20:.0f}' if traced else '-'} | {np.std(impostor):.3f} |"
        )
        part = shard._parts[ACCOUNT]  # the bench times the shard's own exact path
        ann = part.ann
        if number == 0 and part.vectors.dtype == np.float32:  # exact search is BLAS on float32
            part.ann = None
            lat, answers = timed(search_ids(shard, k), checked)
            agree = np.mean([a == t for a, t in zip(answers, truth, strict=True)])
            p50, p99, qps = percentiles(lat)
            rows.append(
                f"| {n} | exact (shard) | {p50:.2f} | {p99:.2f} | {qps:.0f} "
                f"| {batch_qps(shard, faces.queries[:32], k):.0f} | {agree:.3f} | | |"
            )
            part.ann = ann
        sweep = "refine" if kind == "fastscan" else "nprobe"
        for value in getattr(args, sweep):
            shard.config = ann.config = replace(shard.config, **{sweep: value})
            label = f"{kind} refine {value}"
            if sweep == "nprobe":
                label = f"{kind} nlist {ann.nlist} nprobe {value}"
            lat, _ = timed(search_ids(shard, k), faces.queries)
            _, answers = timed(search_ids(shard, k), checked)
            pairs = list(zip(answers, truth, strict=True))
            recall = np.mean([len(set(a) & set(t)) / k for a, t in pairs])
            top1 = np.mean([a[:1] == t[:1] for a, t in pairs])
            found = sum(len(g & set(a)) for g, a in zip(genuine, answers, strict=True))
            p50, p99, qps = percentiles(lat)
            rows.append(
                f"| {n} | {label} | {p50:.2f} | {p99:.2f} "
                f"| {qps:.0f} | {batch_qps(shard, faces.queries[:32], k):.0f} | {recall:.4f} "
                f"| {top1:.4f} | {found / max(1, sum(len(g) for g in genuine)):.4f} |"
            )
            print(rows[-1], flush=True)
        del shard, part, ann
    return rows


BUILDS: list[str] = []
SHARD_BYTES: dict[int, int] = {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--index", default="fastscan", help="approximate index kinds (a list)")
    parser.add_argument("--queries", type=int, default=1000, help="timed approximate queries")
    parser.add_argument("--exact-queries", type=int, default=200, help="exact/numpy queries")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--nprobe", default="32,128,512", help="IVF cells searched (a list)")
    parser.add_argument("--rerank", type=int, default=4, help="ivf_sq8: re-ranked = rerank * k")
    parser.add_argument("--refine", default="1500,2500", help="fastscan: re-ranked (a list)")
    parser.add_argument("--exact-below", type=int, default=1000, help="approximate from here on")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--large-vectors", default="float16", choices=("float16", "float32"))
    parser.add_argument("--memory", action="store_true", help="trace the shard's memory")
    args = parser.parse_args()
    args.nprobe = [int(x) for x in args.nprobe.split(",")]
    args.refine = [int(x) for x in args.refine.split(",")]
    args.index = args.index.split(",")
    configure_faiss(args.threads)
    print(f"top-{args.k}, {DIMS}-d float32, faiss threads {args.threads}")
    lines = [
        "| descriptors | search | p50 ms | p99 ms | q/s (1 by 1) | q/s (batch 32) "
        "| recall@10 | top-1 = exact | genuine recall |",
        "|" + "---|" * 9,
    ]
    for size in (int(s) for s in args.sizes.split(",")):
        lines += run(size, args)
    print()
    print("\n".join(lines))
    print()
    print(
        "| descriptors | index | vectors | load s | + index build s | vectors + codes GiB per 1M "
        "| shard MiB | impostor cos std |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(BUILDS))


if __name__ == "__main__":
    main()

"""Benchmark POST /1/detector against the same model in a bare onnxruntime loop.

Usage (with the service running, e.g. `bash scripts/run-service.sh`)::

    .venv/bin/python bench/bench_detector.py --url http://127.0.0.1:5090 \
        [--concurrency 1,4,16,64] [--seconds 15] [--config serve_config.yaml]

Both sides see the same photos (tests/data/photos.yaml) as JPEG bytes. The bare loop runs,
in this one process, what a request costs the service in model work: decode the JPEG and run
the detector, with the detector settings of the config (input size, extra scales, threads).
The served figures include HTTP, Ray's proxy and handle hops, and batching. The client runs on
the same machine as the service, so on a small machine it takes CPU from it: read the ratio
as a lower bound.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import cv2
import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.provision import app_args
from serve_app.estimators import FACE_DETECTOR, build_estimator
from serve_app.settings import Settings
from tests.data.fetch import catalogue, photo_dir

ACCOUNT = "b668c4a5-2191-476e-a261-3b4f9ce2e25e"


def load_photos() -> list[bytes]:
    """Every test photo that has faces or not, re-encoded as JPEG (what cameras send)."""
    photos = []
    for name in catalogue():
        image = cv2.imread(str(photo_dir() / name), cv2.IMREAD_COLOR)
        photos.append(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes())
    return photos


def percentiles(latencies: list[float]) -> tuple[float, float, float]:
    """p50, p95, p99 in milliseconds."""
    values = np.array(latencies) * 1000
    return tuple(float(np.percentile(values, p)) for p in (50, 95, 99))


def bare_loop(config: Path, photos: list[bytes], seconds: float) -> tuple[float, list[float]]:
    """Images/s and per-image latencies of decode + detect, one image at a time."""
    settings = Settings.from_args(app_args(config)[0])
    detector = build_estimator(settings, FACE_DETECTOR)
    detector.model.load()
    for data in photos:  # warm-up
        detector.detect([cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)])
    latencies = []
    start = time.perf_counter()
    i = 0
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        image = cv2.imdecode(np.frombuffer(photos[i % len(photos)], np.uint8), cv2.IMREAD_COLOR)
        detector.detect([image])
        latencies.append(time.perf_counter() - t0)
        i += 1
    return i / (time.perf_counter() - start), latencies


async def served(url: str, photos: list[bytes], concurrency: int, seconds: float):
    """Images/s and request latencies with ``concurrency`` clients posting one image each."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Luna-Account-Id": ACCOUNT, "Content-Type": "image/jpeg"}
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=300) as client:

        async def one(data: bytes) -> float:
            t0 = time.perf_counter()
            response = await client.post("/1/detector", content=data, headers=headers)
            response.raise_for_status()
            return time.perf_counter() - t0

        await asyncio.gather(*(one(p) for p in photos))  # warm-up
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds
        counter = iter(range(10**9))

        async def worker() -> None:
            while time.perf_counter() < deadline:
                latencies.append(await one(photos[next(counter) % len(photos)]))

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return len(latencies) / (time.perf_counter() - start), latencies


def main() -> None:
    """Run the bare loop, then each concurrency level against the service; print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:5090")
    parser.add_argument("--config", type=Path, default=Path("serve_config.yaml"))
    parser.add_argument("--concurrency", default="1,4,16,64")
    parser.add_argument("--seconds", type=float, default=15.0)
    options = parser.parse_args()
    photos = load_photos()
    sizes = [cv2.imdecode(np.frombuffer(p, np.uint8), cv2.IMREAD_COLOR).shape[:2] for p in photos]
    mean_mp = statistics.mean(h * w for h, w in sizes) / 1e6
    print(f"{len(photos)} photos, mean {mean_mp:.2f} MP, JPEG; config {options.config}")

    bare_rate, bare_lat = bare_loop(options.config, photos, options.seconds)
    p50, p95, p99 = percentiles(bare_lat)
    print(f"\n{'':>14} {'img/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'vs bare':>8}")
    print(f"{'bare loop':>14} {bare_rate:8.1f} {p50:8.1f} {p95:8.1f} {p99:8.1f} {1.0:8.2f}")
    for level in (int(c) for c in options.concurrency.split(",")):
        rate, lat = asyncio.run(served(options.url, photos, level, options.seconds))
        p50, p95, p99 = percentiles(lat)
        label = f"served c={level}"
        print(f"{label:>14} {rate:8.1f} {p50:8.1f} {p95:8.1f} {p99:8.1f} {rate / bare_rate:8.2f}")


if __name__ == "__main__":
    main()

"""Benchmark the running service against the same models in a bare onnxruntime loop.

Usage (with the service running, e.g. `bash scripts/run-service.sh`)::

    .venv/bin/python bench/bench_service.py --url http://127.0.0.1:5090 \
        [--pipeline detector|sdk] [--concurrency 1,4,16,64] [--seconds 15]

Pipelines:

* ``detector``: POST /1/detector; bare loop = decode + face detection.
* ``sdk``: POST /1/sdk?detect_face=1&estimate_face_descriptor=1&estimate_basic_attributes=1;
  bare loop = decode + detection + warp + descriptor + age/gender of every face.
* ``faces``: /1/sdk with every face estimator of the default profile on (68 landmarks, head
  pose, quality, descriptor, age/gender, emotions, mask, mouth); bare loop = the same models.

Both sides see the same photos (tests/data/photos.yaml) as JPEG bytes and the model settings
of the config (input sizes, scales, threads). The bare loop runs one image at a time in this
one process. The served figures include HTTP, Ray's proxy and handle hops, and batching. The
client runs on the same machine as the service, so on a small machine it takes CPU from it:
read the ratio as a lower bound.
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

from models.face.face_align import warp_face
from models.face.landmarks import to_landmarks68
from models.provision import app_args
from serve_app.estimators import build_estimator
from serve_app.settings import Settings
from tests.data.fetch import catalogue, photo_dir

ACCOUNT = "b668c4a5-2191-476e-a261-3b4f9ce2e25e"
ROUTES = {
    "detector": "/1/detector",
    "sdk": "/1/sdk?detect_face=1&estimate_face_descriptor=1&estimate_basic_attributes=1",
    "faces": (
        "/1/sdk?detect_face=1&estimate_landmarks68=1&estimate_head_pose=1&estimate_quality=1"
        "&estimate_face_descriptor=1&estimate_basic_attributes=1&estimate_emotions=1"
        "&estimate_mask=1&estimate_mouth_attributes=1"
    ),
}
#: The estimators the ``faces`` pipeline runs on every face's warp, besides the descriptor.
ON_WARPS = ("basic_attributes", "image_quality", "emotions", "mask", "mouth")


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


def bare_loop(
    config: Path, photos: list[bytes], seconds: float, pipeline: str
) -> tuple[float, list[float]]:
    """Images/s and per-image latencies of the pipeline's model work, one image at a time."""
    settings = Settings.from_args(app_args(config)[0])
    detector = build_estimator(settings, "face_detector")
    detector.load()
    extractor = landmarks = head_pose = None
    on_warps = []
    if pipeline in ("sdk", "faces"):
        extractor = build_estimator(settings, "face_descriptor")
        extractor.load()
        names = ON_WARPS if pipeline == "faces" else ("basic_attributes",)
        on_warps = [build_estimator(settings, name) for name in names]
    if pipeline == "faces":
        landmarks = build_estimator(settings, "face_landmarks")
        head_pose = build_estimator(settings, "head_pose")

    def one(data: bytes) -> None:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        faces = detector.run([image])[0]
        if landmarks is not None and head_pose is not None and faces:
            points = landmarks.run([(image, face.box) for face in faces])
            head_pose.run([to_landmarks68(p) for p in points])
        if extractor is not None and faces:
            warps = [warp_face(image, face.landmarks5) for face in faces]
            extractor.extract(warps)
            for adapter in on_warps:
                adapter.run(warps)

    for data in photos:  # warm-up
        one(data)
    latencies = []
    start = time.perf_counter()
    i = 0
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        one(photos[i % len(photos)])
        latencies.append(time.perf_counter() - t0)
        i += 1
    return i / (time.perf_counter() - start), latencies


async def served(url: str, route: str, photos: list[bytes], concurrency: int, seconds: float):
    """Images/s and request latencies with ``concurrency`` clients posting one image each."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Luna-Account-Id": ACCOUNT, "Content-Type": "image/jpeg"}
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=300) as client:

        async def one(data: bytes) -> float:
            t0 = time.perf_counter()
            response = await client.post(route, content=data, headers=headers)
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
    parser.add_argument("--pipeline", choices=sorted(ROUTES), default="detector")
    parser.add_argument("--concurrency", default="1,4,16,64")
    parser.add_argument("--seconds", type=float, default=15.0)
    options = parser.parse_args()
    photos = load_photos()
    sizes = [cv2.imdecode(np.frombuffer(p, np.uint8), cv2.IMREAD_COLOR).shape[:2] for p in photos]
    mean_mp = statistics.mean(h * w for h, w in sizes) / 1e6
    print(f"{len(photos)} photos, mean {mean_mp:.2f} MP, JPEG; config {options.config}")
    print(f"pipeline {options.pipeline}: POST {ROUTES[options.pipeline]}")

    bare_rate, bare_lat = bare_loop(options.config, photos, options.seconds, options.pipeline)
    p50, p95, p99 = percentiles(bare_lat)
    print(f"\n{'':>14} {'img/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'vs bare':>8}")
    print(f"{'bare loop':>14} {bare_rate:8.1f} {p50:8.1f} {p95:8.1f} {p99:8.1f} {1.0:8.2f}")
    for level in (int(c) for c in options.concurrency.split(",")):
        route = ROUTES[options.pipeline]
        rate, lat = asyncio.run(served(options.url, route, photos, level, options.seconds))
        p50, p95, p99 = percentiles(lat)
        label = f"served c={level}"
        print(f"{label:>14} {rate:8.1f} {p50:8.1f} {p95:8.1f} {p99:8.1f} {rate / bare_rate:8.2f}")


if __name__ == "__main__":
    main()

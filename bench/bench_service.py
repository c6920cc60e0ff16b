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
read the ratio as a lower bound. Last, a table of the mean ms per image of each stage: the
bare loop's model calls beside the service's ``Server-Timing`` stages.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import cv2
import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.face.face_align import warp_face
from models.face.landmarks import to_landmarks68
from models.provision import app_args
from serve_app.estimators import build_estimator
from serve_app.http.timing import parse as parse_timing
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


class Stages:
    """Milliseconds spent per stage, summed over requests (names as Server-Timing's)."""

    def __init__(self) -> None:
        self.total: dict[str, float] = {}
        self.count = 0

    def add(self, stages: dict[str, float]) -> None:
        """One request's stages."""
        self.count += 1
        for name, ms in stages.items():
            self.total[name] = self.total.get(name, 0.0) + ms

    @contextmanager
    def timing(self, name: str):
        """Time a block of the bare loop as stage ``name``."""
        t0 = time.perf_counter()
        yield
        self.total[name] = self.total.get(name, 0.0) + (time.perf_counter() - t0) * 1000

    def mean(self) -> dict[str, float]:
        """Mean ms per request of each stage."""
        return {name: ms / max(self.count, 1) for name, ms in self.total.items()}


def bare_loop(
    config: Path, photos: list[bytes], seconds: float, pipeline: str
) -> tuple[float, list[float], Stages]:
    """Images/s, per-image latencies and per-stage means of the pipeline's model work, one
    image at a time."""
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

    stages = Stages()

    def one(data: bytes) -> None:
        with stages.timing("decode"):
            image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        with stages.timing("face_detector"):
            faces = detector.run([image])[0]
        if landmarks is not None and head_pose is not None and faces:
            with stages.timing("face_landmarks"):
                points = landmarks.run([(image, face.box) for face in faces])
            with stages.timing("head_pose"):
                head_pose.run([to_landmarks68(p) for p in points])
        if extractor is not None and faces:
            with stages.timing("warp"):
                warps = [warp_face(image, face.landmarks5) for face in faces]
            with stages.timing("face_descriptor"):
                extractor.extract(warps)
            for adapter in on_warps:
                with stages.timing(adapter.task):
                    adapter.run(warps)
        stages.count += 1

    for data in photos:  # warm-up
        one(data)
    stages = Stages()
    latencies = []
    start = time.perf_counter()
    i = 0
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        one(photos[i % len(photos)])
        latencies.append(time.perf_counter() - t0)
        i += 1
    return i / (time.perf_counter() - start), latencies, stages


async def served(url: str, route: str, photos: list[bytes], concurrency: int, seconds: float):
    """Images/s, request latencies and the mean of each Server-Timing stage, with
    ``concurrency`` clients posting one image each."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Luna-Account-Id": ACCOUNT, "Content-Type": "image/jpeg"}
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=300) as client:
        stages = Stages()

        async def one(data: bytes) -> float:
            t0 = time.perf_counter()
            response = await client.post(route, content=data, headers=headers)
            response.raise_for_status()
            stages.add(parse_timing(response.headers.get("server-timing", "")))
            return time.perf_counter() - t0

        await asyncio.gather(*(one(p) for p in photos))  # warm-up
        stages = Stages()
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds
        counter = iter(range(10**9))

        async def worker() -> None:
            while time.perf_counter() < deadline:
                latencies.append(await one(photos[next(counter) % len(photos)]))

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return len(latencies) / (time.perf_counter() - start), latencies, stages


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

    bare_rate, bare_lat, bare_stages = bare_loop(
        options.config, photos, options.seconds, options.pipeline
    )
    p50, p95, p99 = percentiles(bare_lat)
    print(f"\n{'':>14} {'img/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'vs bare':>8}")
    print(f"{'bare loop':>14} {bare_rate:8.1f} {p50:8.1f} {p95:8.1f} {p99:8.1f} {1.0:8.2f}")
    breakdowns = {"bare loop": bare_stages.mean()}
    for level in (int(c) for c in options.concurrency.split(",")):
        route = ROUTES[options.pipeline]
        rate, lat, stages = asyncio.run(served(options.url, route, photos, level, options.seconds))
        p50, p95, p99 = percentiles(lat)
        label = f"served c={level}"
        print(f"{label:>14} {rate:8.1f} {p50:8.1f} {p95:8.1f} {p99:8.1f} {rate / bare_rate:8.2f}")
        breakdowns[label] = stages.mean()
    print_breakdown(breakdowns)


def print_breakdown(breakdowns: dict[str, dict[str, float]]) -> None:
    """Mean ms per image of each stage: the bare loop's model calls beside the service's
    Server-Timing stages (an estimator's stage there includes its hop to the deployment)."""
    names = list(dict.fromkeys(n for stages in breakdowns.values() for n in stages))
    print(f"\nmean ms per image by stage{'':<4}" + "".join(f"{k:>14}" for k in breakdowns))
    for name in names:
        row = "".join(
            f"{stages[name]:14.1f}" if name in stages else f"{'-':>14}"
            for stages in breakdowns.values()
        )
        print(f"{name:<30}{row}")


if __name__ == "__main__":
    main()

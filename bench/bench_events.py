"""What storage costs a handler: events/s beside /1/sdk doing the same model work.

Usage (with the service running, e.g. `bash scripts/run-service.sh`)::

    .venv/bin/python bench/bench_events.py --url http://127.0.0.1:5090 \
        [--concurrency 1,4,16] [--seconds 15]

It creates a handler that detects, extracts a descriptor and age/gender, stores each face
(sample, face row, descriptor) and each event (``wait_saving=1``: answered once committed),
then posts the test photos to it and to ``/1/sdk`` with the same estimations, at each
concurrency level. Printed: images/s, events/s (faces stored), p50/p99 latency, and the
ratio events route / sdk route, which is what detection-to-database storage costs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_service import ACCOUNT, load_photos, percentiles, served

SDK = "/1/sdk?detect_face=1&estimate_face_descriptor=1&estimate_basic_attributes=1"
POLICIES = {
    "extract_policy": {"extract_face_descriptor": 1, "extract_basic_attributes": 1},
    "storage_policy": {
        "face_policy": {"store_face": 1},
        "event_policy": {"store_event": 1, "wait_saving": 1},
    },
}


def create_handler(url: str) -> str:
    """A handler that stores faces and events; its id."""
    response = httpx.post(
        f"{url}/1/handlers",
        json={"description": "bench_events", "policies": POLICIES},
        headers={"Luna-Account-Id": ACCOUNT},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["handler_id"]


def faces_per_photo(url: str, handler_id: str, photos: list[bytes]) -> float:
    """Mean events (stored faces) per photo, to turn images/s into events/s."""
    headers = {"Luna-Account-Id": ACCOUNT, "Content-Type": "image/jpeg"}
    counts = []
    for photo in photos:
        response = httpx.post(
            f"{url}/1/handlers/{handler_id}/events", content=photo, headers=headers, timeout=120
        )
        response.raise_for_status()
        counts.append(len(response.json()["events"]))
    return sum(counts) / len(counts)


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:5090")
    parser.add_argument("--concurrency", default="1,4,16")
    parser.add_argument("--seconds", type=float, default=15.0)
    options = parser.parse_args()
    photos = load_photos()
    handler_id = create_handler(options.url)
    per_photo = faces_per_photo(options.url, handler_id, photos)
    events = f"/1/handlers/{handler_id}/events"
    print(f"{len(photos)} photos, {per_photo:.2f} faces a photo; handler {handler_id}")
    print(f"\n{'':>16} {'img/s':>8} {'events/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs sdk':>7}")
    for level in (int(c) for c in options.concurrency.split(",")):
        sdk_rate, sdk_lat = asyncio.run(served(options.url, SDK, photos, level, options.seconds))
        ev_rate, ev_lat = asyncio.run(served(options.url, events, photos, level, options.seconds))
        for label, rate, lat in (("sdk", sdk_rate, sdk_lat), ("events", ev_rate, ev_lat)):
            p50, _, p99 = percentiles(lat)
            ratio = rate / sdk_rate
            print(
                f"{label + f' c={level}':>16} {rate:8.1f} {rate * per_photo:9.1f} "
                f"{p50:8.1f} {p99:8.1f} {ratio:7.2f}"
            )


if __name__ == "__main__":
    main()

"""The service's Prometheus metrics move with the work it does (GET /metrics, Ray's agent)."""

from __future__ import annotations

import asyncio
import re
import time

import pytest

pytestmark = pytest.mark.e2e

EXPORT_WAIT_S = 60  # Ray's agent exports what processes record every ~10 s


def sample(page: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    total = 0.0
    for line in page.splitlines():
        match = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if match and all(f'{k}="{v}"' in match.group(1) for k, v in labels.items()):
            total += float(match.group(2))
    return total


async def scrape(client) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_metrics_count_requests_batches_and_matching(client, photo_bytes):
    before = await scrape(client)
    detector = dict(route="/1/detector", method="POST", status="200")
    sent = 3
    for _ in range(sent):
        response = await client.post(
            "/1/detector", content=photo_bytes("obama.jpg"),
            headers={"Content-Type": "image/jpeg"},
        )  # fmt: skip
        assert response.status_code == 200
    missing = await client.get("/1/handlers/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    raw = await client.post(
        "/1/matcher/raw",
        json={"references": [], "candidates": []},
    )
    deadline = time.monotonic() + EXPORT_WAIT_S
    while True:
        page = await scrape(client)
        moved = sample(page, "luna_requests_total", **detector) - sample(
            before, "luna_requests_total", **detector
        )
        # Each process (the ingress, the detector's replica) exports on its own schedule.
        inferred = sample(page, "luna_estimator_items_total", estimator="face_detector")
        if (moved >= sent and inferred >= sent) or time.monotonic() > deadline:
            break
        await asyncio.sleep(2)
    assert moved >= sent
    # Routes are templates, not raw paths: an id does not make a series of its own.
    assert sample(page, "luna_requests_total", route="/1/handlers/{handler_id}", status="404") >= 1
    assert "00000000-0000-4000-8000-000000000000" not in page
    assert sample(page, "luna_requests_total", route="/1/matcher/raw",
                  status=str(raw.status_code)) >= 1  # fmt: skip
    assert sample(page, "luna_request_seconds_count", route="/1/detector") >= sent
    # The detector deployment's batches, model time and items.
    assert sample(page, "luna_estimator_items_total", estimator="face_detector") >= sent
    assert sample(page, "luna_estimator_batch_items_count", estimator="face_detector") >= 1
    assert sample(page, "luna_estimator_inference_seconds_sum", estimator="face_detector") > 0
    # The matcher shard reports its index size; Ray's own metrics are on the same page.
    assert re.search(r"^luna_matcher_index_faces\{.*shard=\"0\"", page, re.M)
    assert "ray_" in page

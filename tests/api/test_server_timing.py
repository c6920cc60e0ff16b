"""Every response says where its time went (``Server-Timing``)."""

from __future__ import annotations

from serve_app.http.timing import parse
from tests.api.test_sdk import JPEG


async def test_sdk_response_times_each_stage(client, photo_bytes):
    response = await client.post(
        "/1/sdk?detect_face=1&estimate_emotions=1",
        content=photo_bytes("group_six.jpg"),
        headers=JPEG,
    )
    assert response.status_code == 200
    stages = parse(response.headers["server-timing"])
    assert list(stages)[:2] == ["decode", "face_detector"]
    assert {"warp", "face_descriptor", "emotions", "encode", "total"} <= set(stages)
    assert all(ms >= 0 for ms in stages.values())
    # Stages run one after another here, except estimators on warps, which run side by side.
    sequential = sum(stages[s] for s in ("decode", "face_detector", "warp", "encode"))
    assert sequential <= stages["total"]
    assert max(stages["face_descriptor"], stages["emotions"]) <= stages["total"]


async def test_handler_events_time_matching_and_storage(client, photo_bytes):
    policies = {
        "extract_policy": {"extract_face_descriptor": 1},
        "match_policy": [{"label": "all", "candidates": {"origin": "faces"}}],
        "storage_policy": {"face_policy": {"store_face": 1}},
    }
    created = await client.post("/1/handlers", json={"policies": policies})
    assert created.status_code == 201, created.text
    response = await client.post(
        f"/1/handlers/{created.json()['handler_id']}/events",
        content=photo_bytes("obama.jpg"),
        headers=JPEG,
    )
    assert response.status_code == 201, response.text
    stages = parse(response.headers["server-timing"])
    assert {"face_detector", "face_descriptor", "match", "storage", "total"} <= set(stages)


async def test_an_error_is_timed_too(client):
    response = await client.post("/1/sdk?detect_face=2", content=b"x", headers=JPEG)
    assert response.status_code == 400
    assert "total" in parse(response.headers["server-timing"])

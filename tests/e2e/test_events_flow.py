"""Handlers through the real Ray Serve app: register a person, identify them from another
photo (the matcher deployment), refuse an impostor, read the events back, and receive them
over the WebSocket as they are stored."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from tests.conftest import ACCOUNT

pytestmark = pytest.mark.e2e
JPEG = {"Content-Type": "image/jpeg"}


async def created(response) -> str:
    assert response.status_code == 201, response.text
    return next(v for k, v in response.json().items() if k.endswith("_id"))


async def test_register_identify_read_back_and_subscribe(client, service_url, photo_bytes):
    list_id = await created(await client.post("/1/lists", json={"user_data": "e2e"}))
    register = await created(
        await client.post(
            "/1/handlers",
            json={
                "policies": {
                    "extract_policy": {"extract_face_descriptor": 1, "extract_basic_attributes": 1},
                    "storage_policy": {
                        "face_policy": {
                            "store_face": 1,
                            "link_to_lists_policy": [{"list_id": list_id}],
                        }
                    },
                }
            },
        )
    )
    identify = await created(
        await client.post(
            "/1/handlers",
            json={
                "policies": {
                    "extract_policy": {"extract_face_descriptor": 1},
                    "match_policy": [
                        {"label": "known", "candidates": {"list_id": list_id}, "threshold": 0.5}
                    ],
                    "conditional_tags_policy": [
                        {
                            "tag": "recognised",
                            "filters": {"match": [{"label": "known", "similarity__gte": 0.5}]},
                        }
                    ],
                }
            },
        )
    )
    ws_url = service_url.replace("http", "ws") + f"/1/ws?handler_id={identify}"
    async with websockets.connect(ws_url, additional_headers={"Luna-Account-Id": ACCOUNT}) as ws:
        stored = await client.post(
            f"/1/handlers/{register}/events", content=photo_bytes("obama.jpg"), headers=JPEG
        )
        assert stored.status_code == 201, stored.text
        face_id = stored.json()["events"][0]["face"]["face_id"]

        # The face stored by the previous request is matchable by the next one.
        known = await client.post(
            f"/1/handlers/{identify}/events", content=photo_bytes("obama2.jpg"), headers=JPEG
        )
        [event] = known.json()["events"]
        [best] = event["matches"][0]["candidates"]
        assert best["face"]["face_id"] == face_id and best["similarity"] > 0.9
        assert event["tags"] == ["recognised"]

        stranger = await client.post(
            f"/1/handlers/{identify}/events", content=photo_bytes("biden.jpg"), headers=JPEG
        )
        [unknown] = stranger.json()["events"]
        assert unknown["matches"][0]["candidates"] == [] and unknown["tags"] == []

        pushed = [json.loads(await asyncio.wait_for(ws.recv(), 30)) for _ in range(2)]
        assert [p["event_id"] for p in pushed] == [event["event_id"], unknown["event_id"]]

    listed = (await client.get("/1/events", params={"handler_id": identify})).json()
    assert listed["count"] == 2
    recognised = (await client.get("/1/events", params={"tags": "recognised"})).json()
    assert event["event_id"] in [e["event_id"] for e in recognised["events"]]
    no_face = await client.post(
        f"/1/handlers/{identify}/events", content=photo_bytes("coffee.png"), headers={"Content-Type": "image/png"}
    )
    assert no_face.status_code == 201 and no_face.json()["events"] == []

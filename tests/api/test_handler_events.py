"""Handlers that run: POST /1/handlers/{id}/events on real photos, in-process, on SQLite and
PostgreSQL. The flows LUNA clients run: register, identify, no face, tags, filtered faces,
events read back, raw events of dynamic handlers."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest

from tests.api.helpers import assert_luna_error
from tests.conftest import ACCOUNT, new_account

JPEG = {"Content-Type": "image/jpeg"}


async def create(client, path: str, body: dict) -> str:
    response = await client.post(path, json=body)
    assert response.status_code == 201, response.text
    return next(v for k, v in response.json().items() if k.endswith("_id"))


async def new_list(client) -> str:
    return await create(client, "/1/lists", {"user_data": "staff"})


def register_policies(list_id: str) -> dict:
    return {
        "extract_policy": {"extract_face_descriptor": 1, "extract_basic_attributes": 1},
        "storage_policy": {
            "face_policy": {"store_face": 1, "link_to_lists_policy": [{"list_id": list_id}]},
        },
    }


def identify_policies(list_id: str, **storage) -> dict:
    return {
        "detect_policy": {"multiface_policy": 2},
        "extract_policy": {"extract_face_descriptor": 1},
        "match_policy": [
            {"label": "staff", "candidates": {"list_id": list_id}, "limit": 3, "threshold": 0.5}
        ],
        "storage_policy": storage,
    }


async def events_of(client, handler_id: str, photo: bytes, query: str = "", **headers) -> dict:
    kind = {"Content-Type": "image/png"} if photo.startswith(b"\x89PNG") else JPEG
    response = await client.post(
        f"/1/handlers/{handler_id}/events{query}", content=photo, headers={**kind, **headers}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_register_then_identify_and_refuse_an_impostor(db_client, photo_bytes):
    list_id = await new_list(db_client)
    register = await create(db_client, "/1/handlers", {"policies": register_policies(list_id)})
    body = await events_of(
        db_client, register, photo_bytes("obama.jpg"), "?external_id=emp-44&user_data=Barack"
    )
    [event] = body["events"]
    face = event["face"]
    assert face["external_id"] == "emp-44" and face["user_data"] == "Barack"
    assert face["lists"] == [list_id]
    assert face["avatar"] == event["detections"][0]["samples"]["face"]["url"]
    assert event["face_attributes"]["score"] > 0.9
    assert event["face_attributes"]["basic_attributes"]["gender"] == 1
    assert body["images"] == [
        {"filename": "Raw Image", "status": 1, "error": body["images"][0]["error"]}
    ]
    stored = (await db_client.get(f"/1/faces/{face['face_id']}")).json()
    assert stored["lists"] == [list_id] and stored["event_id"] == event["event_id"]

    identify = await create(db_client, "/1/handlers", {"policies": identify_policies(list_id)})
    [known] = (await events_of(db_client, identify, photo_bytes("obama2.jpg")))["events"]
    [match] = known["matches"]
    assert match["label"] == "staff"
    [best] = match["candidates"]
    assert best["face"]["face_id"] == face["face_id"] and best["similarity"] > 0.9
    assert known["face"] is None  # this handler stores no face

    [stranger] = (await events_of(db_client, identify, photo_bytes("biden.jpg")))["events"]
    assert stranger["matches"] == [{"label": "staff", "candidates": []}]


async def test_a_photo_without_a_face_gives_no_event(db_client, photo_bytes):
    handler = await create(
        db_client, "/1/handlers", {"policies": register_policies(await new_list(db_client))}
    )
    body = await events_of(db_client, handler, photo_bytes("coffee.png"))
    assert body["events"] == []
    assert body["filtered_detections"] == {"face_detections": []}
    assert body["images"][0]["status"] == 1


async def test_turned_face_is_filtered_with_its_reason_and_stores_nothing(db_client, photo_bytes):
    policies = {
        "detect_policy": {"yaw_threshold": 20, "estimate_quality": 1},
        "storage_policy": {"event_policy": {"store_event": 1}},
    }
    handler = await create(db_client, "/1/handlers", {"policies": policies})
    body = await events_of(db_client, handler, photo_bytes("turned_head.jpg"))
    assert body["events"] == []
    [filtered] = body["filtered_detections"]["face_detections"]
    [reason] = filtered["filter_reasons"]
    assert reason["filter_name"] == "yaw_threshold" and reason["threshold_value"] == 20
    assert abs(reason["object_value"]) > 20
    assert set(filtered["detection"]["sample"]["detection"]["quality"]) >= {"blurriness", "dark"}
    listed = (await db_client.get("/1/events", params={"handler_id": handler})).json()
    assert listed["events"] == []


async def test_conditional_tags_by_gender_and_age_and_reading_events_back(
    db_client, photo_bytes, photos
):
    policies = {
        "extract_policy": {"extract_basic_attributes": 1, "extract_face_descriptor": 1},
        "conditional_tags_policy": [
            {"tag": "man", "filters": {"gender": 1}},
            {"tag": "woman", "filters": {"gender": 0}},
            {"tag": "adult", "filters": {"age__gte": 18}},
        ],
    }
    handler = await create(db_client, "/1/handlers", {"policies": policies})
    body = await events_of(
        db_client,
        handler,
        photo_bytes("group_six.jpg"),
        "?tags=poker&source=table-3",
        **{"Luna-Event-Time": "2026-03-01T10:00:00Z"},
    )
    events = sorted(
        body["events"],
        key=lambda e: e["detections"][0]["samples"]["face"]["detection"]["rect"]["x"],
    )
    genders = ["woman", "woman", "man", "man", "man", "woman"]  # Rachel .. Phoebe
    assert [e["tags"] for e in events] == [["poker", g, "adult"] for g in genders]
    assert {e["create_time"] for e in events} == {"2026-03-01T10:00:00.000000Z"}
    assert all(e["source"] == "table-3" for e in events)

    men = (await db_client.get("/1/events", params={"handler_id": handler, "gender": 1})).json()
    assert men["count"] == 3
    tagged = (
        await db_client.get("/1/events", params={"handler_id": handler, "tags": "woman"})
    ).json()
    assert tagged["count"] == 3 and all("woman" in e["tags"] for e in tagged["events"])
    one = (await db_client.get(f"/1/events/{events[0]['event_id']}")).json()
    assert one["event_id"] == events[0]["event_id"] and one["tags"] == events[0]["tags"]
    other = await db_client.get(
        f"/1/events/{events[0]['event_id']}", headers={"Luna-Account-Id": new_account()}
    )
    assert_luna_error(other, 23001, 404)


async def test_events_not_waited_for_are_written_soon_after(db_client, photo_bytes):
    policies = {"storage_policy": {"event_policy": {"wait_saving": 0}}}
    handler = await create(db_client, "/1/handlers", {"policies": policies})
    [event] = (await events_of(db_client, handler, photo_bytes("obama.jpg")))["events"]
    for _ in range(50):
        found = await db_client.get(f"/1/events/{event['event_id']}")
        if found.status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert found.status_code == 200


async def test_a_descriptor_instead_of_an_image_is_matched(db_client, photo_bytes):
    list_id = await new_list(db_client)
    register = await create(db_client, "/1/handlers", {"policies": register_policies(list_id)})
    [event] = (await events_of(db_client, register, photo_bytes("obama.jpg")))["events"]
    sdk = await db_client.post(
        "/1/sdk?detect_face=1&estimate_face_descriptor=1",
        content=photo_bytes("obama3.jpg"),
        headers=JPEG,
    )
    descriptor = sdk.json()["images_estimations"][0]["estimations"][0]["face"]["attributes"][
        "descriptor"
    ]
    identify = await create(db_client, "/1/handlers", {"policies": identify_policies(list_id)})
    response = await db_client.post(
        f"/1/handlers/{identify}/events",
        content=descriptor["sdk_descriptor"],
        headers={"Content-Type": "application/x-sdk-descriptor-base64"},
    )
    assert response.status_code == 201, response.text
    [described] = response.json()["events"]
    assert described["matches"][0]["candidates"][0]["face"]["face_id"] == event["face"]["face_id"]
    raw = await db_client.post(
        f"/1/handlers/{identify}/events",
        content=base64.b64decode(descriptor["sdk_descriptor"]),
        headers={"Content-Type": "application/x-sdk-descriptor"},
    )
    assert raw.status_code == 201


async def test_accounts_see_neither_handlers_nor_faces_of_others(db_client, photo_bytes):
    list_id = await new_list(db_client)
    register = await create(db_client, "/1/handlers", {"policies": register_policies(list_id)})
    await events_of(db_client, register, photo_bytes("obama.jpg"))
    other = {"Luna-Account-Id": new_account()}
    response = await db_client.post(
        f"/1/handlers/{register}/events",
        content=photo_bytes("obama2.jpg"),
        headers={**JPEG, **other},
    )
    assert_luna_error(response, 11033, 404)
    # The other account's handler naming our list finds nothing of ours.
    foreign = await db_client.post(
        "/1/handlers",
        json={"policies": {"extract_policy": {"extract_face_descriptor": 1}}},
        headers=other,
    )
    assert foreign.status_code == 201


async def test_raw_events_only_for_dynamic_handlers(db_client):
    static = await create(db_client, "/1/handlers", {"policies": {}})
    raw = {"source": "camera-2", "tags": ["night"], "external_id": "x1"}
    response = await db_client.post(f"/1/handlers/{static}/events/raw", json=raw)
    assert_luna_error(response, 34007, 403)
    dynamic = await create(db_client, "/1/handlers", {"is_dynamic": True})
    saved = await db_client.post(f"/1/handlers/{dynamic}/events/raw", json=raw)
    assert saved.status_code == 201, saved.text
    event_id = saved.json()["event_id"]
    stored = (await db_client.get(f"/1/events/{event_id}")).json()
    assert stored["source"] == "camera-2" and stored["tags"] == ["night"]
    later = await db_client.post(f"/1/handlers/{dynamic}/events/raw?wait_saving=0", json=raw)
    assert later.status_code == 202
    bad = await db_client.post(f"/1/handlers/{dynamic}/events/raw", json={"tags": "not-a-list"})
    assert_luna_error(bad, 12022, 400)


@pytest.mark.parametrize(
    "policy", [{"estimate_gaze": 1}, {"estimate_liveness": {"estimate": 1}}]
)
async def test_handler_needing_a_missing_estimator_is_refused_at_creation(client, policy):
    response = await client.post("/1/handlers", json={"policies": {"detect_policy": policy}})
    body = assert_luna_error(response, 11055, 403)
    assert "estimator" in body["detail"]
    validator = await client.post(
        "/1/handlers/validator", json={"policies": {"detect_policy": policy}}
    )
    assert_luna_error(validator, 11055, 403)


async def test_handler_of_another_account_or_unknown_is_404(client, photo_bytes):
    response = await client.post(
        "/1/handlers/00000000-0000-4000-8000-000000000000/events",
        content=photo_bytes("obama.jpg"),
        headers={**JPEG, "Luna-Account-Id": ACCOUNT},
    )
    assert_luna_error(response, 11033, 404)


async def test_dynamic_handler_takes_policies_with_each_request(db_client, photo_bytes):
    dynamic = await create(db_client, "/1/handlers", {"is_dynamic": True})
    policies = {
        "extract_policy": {"extract_basic_attributes": 1},
        "conditional_tags_policy": [{"tag": "man", "filters": {"gender": 1}}],
    }
    files = [
        ("image", ("obama.jpg", photo_bytes("obama.jpg"), "image/jpeg")),
        ("policies", ("policies.json", json.dumps(policies).encode(), "application/json")),
    ]
    response = await db_client.post(f"/1/handlers/{dynamic}/events", files=files)
    assert response.status_code == 201, response.text
    [event] = response.json()["events"]
    assert event["tags"] == ["man"] and event["detections"][0]["filename"] == "obama.jpg"

    as_json = {
        "images": [{"image": base64.b64encode(photo_bytes("biden.jpg")).decode()}],
        "policies": policies,
    }
    response = await db_client.post(f"/1/handlers/{dynamic}/events", json=as_json)
    assert response.status_code == 201, response.text
    assert response.json()["events"][0]["tags"] == ["man"]

    alone = await db_client.post(
        f"/1/handlers/{dynamic}/events", content=photo_bytes("obama.jpg"), headers=JPEG
    )
    assert_luna_error(alone, 12014, 400)
    bad = {**as_json, "policies": {"extract_policy": {"extract_face_descriptor": 7}}}
    body = assert_luna_error(
        await db_client.post(f"/1/handlers/{dynamic}/events", json=bad), 12022, 400
    )
    assert "policies.extract_policy.extract_face_descriptor" in body["detail"]
    static = await create(db_client, "/1/handlers", {"policies": {}})
    refused = await db_client.post(f"/1/handlers/{static}/events", json=as_json)
    assert_luna_error(refused, 12022, 400)


async def test_event_upgrade_gives_a_stored_event_a_descriptor(db_client, photo_bytes):
    handler = await create(db_client, "/1/handlers", {"policies": {}})  # no descriptor
    [event] = (await events_of(db_client, handler, photo_bytes("obama.jpg")))["events"]
    assert event["face_attributes"] is None
    response = await db_client.post(
        "/1/extractor/upgrade", json={"event_id": event["event_id"], "upgrade_data": {}}
    )
    assert response.status_code == 200, response.text
    assert response.json()["face_attributes"]["score"] > 0.9
    # Now the event is a match candidate by its descriptor.
    policies = {
        "extract_policy": {"extract_face_descriptor": 1},
        "match_policy": [
            {
                "label": "seen",
                # A time without an offset is UTC, as LUNA takes it.
                "candidates": {
                    "origin": "events",
                    "handler_ids": [handler],
                    "create_time__gte": "2000-01-01T00:00:00",
                },
            }
        ],
    }
    identify = await create(db_client, "/1/handlers", {"policies": policies})
    [found] = (await events_of(db_client, identify, photo_bytes("obama2.jpg")))["events"]
    [best] = found["matches"][0]["candidates"]
    assert best["event"]["event_id"] == event["event_id"] and best["similarity"] > 0.9
    missing = await db_client.post(
        "/1/extractor/upgrade", json={"event_id": "00000000-0000-4000-8000-000000000000"}
    )
    assert_luna_error(missing, 23001, 404)


async def test_source_images_are_kept_when_the_policy_says(db_client, photo_bytes):
    policies = {"storage_policy": {"image_origin_policy": {"store_image": 1}}}
    handler = await create(db_client, "/1/handlers", {"policies": policies})
    photo = photo_bytes("group_six.jpg")
    events = (await events_of(db_client, handler, photo))["events"]
    origins = {e["detections"][0]["image_origin"] for e in events}
    assert len(events) == 6 and len(origins) == 1  # one image kept for its six faces
    [origin] = origins
    kept = await db_client.get(origin)
    assert kept.status_code == 200 and kept.content == photo
    assert kept.headers["content-type"] == "image/jpeg"
    other = await db_client.get(origin, headers={"Luna-Account-Id": new_account()})
    assert_luna_error(other, 13001, 404)

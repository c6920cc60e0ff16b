"""The matcher routes of LUNA's API service: POST /1/matcher/faces (references by face,
attribute, event or descriptor, against filtered faces) and POST /1/matcher/raw, on real
photos, in-process, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import uuid

import msgpack
import numpy as np

from models import descriptor_format
from tests.api.helpers import assert_luna_error
from tests.api.test_verifications import (
    JPEG,
    auth,
    face_from_descriptor,
    face_from_photo,
    sdk_descriptor,
)
from tests.conftest import new_account


async def new_list(client, account: str) -> str:
    response = await client.post("/1/lists", json={"user_data": "staff"}, headers=auth(account))
    assert response.status_code == 201, response.text
    return response.json()["list_id"]


async def link(client, account: str, list_id: str, face_ids: list[str]) -> None:
    response = await client.patch(
        f"/1/lists/{list_id}/faces",
        json={"action": "attach", "face_ids": face_ids},
        headers=auth(account),
    )
    assert response.status_code == 204, response.text


async def match(client, account: str, body: dict):
    return await client.post("/1/matcher/faces", json=body, headers=auth(account))


def results(entry: dict) -> list[list[tuple[str, float]]]:
    """Per candidate set: (face_id, similarity) best first."""
    return [
        [(r["face"]["face_id"], r["similarity"]) for r in m["result"]] for m in entry["matches"]
    ]


async def test_match_faces_by_descriptor_and_by_stored_objects(db_client, photo_bytes):
    account = new_account()
    staff = await new_list(db_client, account)
    obama = await face_from_photo(db_client, account, photo_bytes("obama.jpg"), "emp-1")
    biden = await face_from_photo(db_client, account, photo_bytes("biden.jpg"), "emp-2")
    outsider = await face_from_photo(db_client, account, photo_bytes("obama3.jpg"), "guest")
    await link(db_client, account, staff, [obama, biden])
    selfie = await sdk_descriptor(db_client, account, photo_bytes("obama2.jpg"))
    detected = await db_client.post(
        "/1/detector", content=photo_bytes("obama2.jpg"), headers=auth(account, **JPEG)
    )
    [sample] = detected.json()["images"][0]["detections"]["samples"]
    [attribute] = (
        await db_client.post(
            "/1/extractor", json=[sample["face"]["sample_id"]], headers=auth(account)
        )
    ).json()

    body = {
        "references": [
            {"type": "descriptor", "id": "selfie", "data": selfie},
            {"type": "attribute_id", "id": attribute["attribute_id"]},
            {"type": "face_id", "id": biden},
        ],
        "candidates": [
            {"filters": {"list_id": staff}, "limit": 2},
            {"filters": {"external_ids": ["guest", "emp-2"]}, "limit": 5, "threshold": 0.6},
            {"limit": 10},
        ],
    }
    response = await match(db_client, account, body)
    assert response.status_code == 200, response.text
    by_selfie, by_attribute, by_biden = response.json()
    assert by_selfie["reference"] == {"type": "descriptor", "id": "selfie"}
    assert by_selfie["matches"][0]["filters"] == {"origin": "faces", "list_id": staff}
    in_list, by_external, everyone = results(by_selfie)
    assert [face for face, _ in in_list] == [obama, biden]  # the list only, best first
    assert in_list[0][1] > 0.9 > 0.5 > in_list[1][1]
    assert [face for face, _ in by_external] == [outsider]  # biden is under the threshold
    assert {face for face, _ in everyone} == {obama, biden, outsider}
    assert [s for _, s in everyone] == sorted((s for _, s in everyone), reverse=True)
    # The temporary attribute of the same photo finds what the descriptor found.
    assert [f for f, _ in results(by_attribute)[0]] == [obama, biden]
    # A face finds itself first.
    [own, _] = results(by_biden)[0]
    assert own[0] == biden and own[1] > 0.99
    face = by_selfie["matches"][0]["result"][0]["face"]
    assert face["external_id"] == "emp-1" and face["lists"] == [staff]

    # Read-your-writes: a face stored now is found by the next request.
    newcomer = await face_from_descriptor(db_client, account, selfie)
    again = await match(
        db_client,
        account,
        {
            "references": [{"type": "descriptor", "id": "selfie", "data": selfie}],
            "candidates": [{"limit": 1}],
        },
    )
    assert results(again.json()[0])[0][0][0] == newcomer


async def test_match_faces_stays_in_the_account_and_refuses_bad_bodies(db_client, photo_bytes):
    account, stranger = new_account(), new_account()
    obama = await face_from_photo(db_client, account, photo_bytes("obama.jpg"))
    selfie = await sdk_descriptor(db_client, account, photo_bytes("obama2.jpg"))
    by_descriptor = {"type": "descriptor", "id": "selfie", "data": selfie}

    theirs = await match(
        db_client, stranger, {"references": [by_descriptor], "candidates": [{"limit": 5}]}
    )
    assert theirs.status_code == 200, theirs.text
    assert results(theirs.json()[0]) == [[]]
    assert_luna_error(
        await match(
            db_client,
            stranger,
            {"references": [{"type": "face_id", "id": obama}], "candidates": [{}]},
        ),
        11020,
        404,
    )
    assert_luna_error(
        await match(
            db_client,
            account,
            {"references": [{"type": "event_id", "id": str(uuid.uuid4())}], "candidates": [{}]},
        ),
        11020,
        404,
    )
    for bad in (
        {"references": [], "candidates": [{}]},
        {"references": [by_descriptor], "candidates": []},
        {"references": [by_descriptor], "candidates": [{"limit": 0}]},
        {"references": [by_descriptor], "candidates": [{"threshold": 2}]},
        {"references": [by_descriptor], "candidates": [{"filters": {"list_id": "x"}}]},
        {"references": [by_descriptor], "candidates": [{"filters": {"origin": "events"}}]},
        {"references": [{"type": "face_id", "id": "not-a-uuid"}], "candidates": [{}]},
        {"references": [{"type": "descriptor", "id": "no data"}], "candidates": [{}]},
        {"references": [by_descriptor] * 101, "candidates": [{}]},
    ):
        assert_luna_error(await match(db_client, account, bad), 12022, 400)
    other = base64.b64encode(descriptor_format.pack(np.ones(512), 7)).decode()
    assert_luna_error(
        await match(
            db_client,
            account,
            {"references": [{**by_descriptor, "data": other}], "candidates": [{}]},
        ),
        12031,
        400,
    )


async def test_match_raw(db_client, photo_bytes):
    account = new_account()
    obama, obama2, biden = [
        await sdk_descriptor(db_client, account, photo_bytes(name))
        for name in ("obama.jpg", "obama2.jpg", "biden.jpg")
    ]
    body = {
        "references": [
            {"id": "a", "type": "sdk_descriptor", "data": obama},
            {"id": "b", "type": "sdk_descriptor", "data": biden},
        ],
        "candidates": [
            {"id": "x", "type": "sdk_descriptor", "data": obama2},
            {"id": "y", "type": "sdk_descriptor", "data": biden},
        ],
    }
    response = await db_client.post("/1/matcher/raw", json=body, headers=auth(account))
    assert response.status_code == 200, response.text
    first, second = response.json()["matches"]
    assert first["reference_id"] == "a" and second["reference_id"] == "b"
    assert [m["candidate_id"] for m in first["matches"]] == ["x", "y"]
    assert "status" not in first["matches"][0]
    assert first["matches"][0]["similarity"] > 0.9 > 0.5 > first["matches"][1]["similarity"]
    assert second["matches"][1]["similarity"] > 0.99  # the same descriptor

    # The same numbers as a verifier's raw verification, and through msgpack.
    verifier = (
        await db_client.post("/1/verifiers", json={"policies": {}}, headers=auth(account))
    ).json()["verifier_id"]
    verified = (
        await db_client.post(f"/1/verifiers/{verifier}/raw", json=body, headers=auth(account))
    ).json()
    assert [m["similarity"] for m in verified["matches"][0]["matches"]] == [
        m["similarity"] for m in first["matches"]
    ]
    packed = await db_client.post(
        "/1/matcher/raw",
        content=msgpack.packb(body, use_bin_type=True),
        headers=auth(account, **{"Content-Type": "application/msgpack"}),
    )
    assert packed.json() == response.json()
    assert_luna_error(
        await db_client.post(
            "/1/matcher/raw", json={"references": body["references"]}, headers=auth(account)
        ),
        12022,
        400,
    )

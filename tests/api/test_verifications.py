"""Verifiers that verify: POST /1/verifiers/{id}/verifications and .../raw on real photos,
in-process, on SQLite and PostgreSQL. obama, obama2 and obama3 are one person; biden another."""

from __future__ import annotations

import base64
import uuid

import msgpack
import numpy as np

from models import descriptor_format
from tests.api.helpers import assert_luna_error
from tests.conftest import new_account

JPEG = {"Content-Type": "image/jpeg"}


def auth(account: str, **headers: str) -> dict[str, str]:
    return {"Luna-Account-Id": account, **headers}


async def sdk_descriptor(client, account: str, photo: bytes) -> str:
    """The base64 SDK descriptor of the one face of ``photo`` (from /1/sdk)."""
    response = await client.post(
        "/1/sdk?detect_face=1", content=photo, headers=auth(account, **JPEG)
    )
    assert response.status_code == 200, response.text
    [estimation] = response.json()["images_estimations"][0]["estimations"]
    return estimation["face"]["attributes"]["descriptor"]["sdk_descriptor"]


async def face_from_photo(client, account: str, photo: bytes, external_id: str = "") -> str:
    """A face made as LUNA clients make one: detector sample -> extractor attribute -> face."""
    detected = await client.post("/1/detector", content=photo, headers=auth(account, **JPEG))
    [sample] = detected.json()["images"][0]["detections"]["samples"]
    attributes = await client.post(
        "/1/extractor", json=[sample["face"]["sample_id"]], headers=auth(account)
    )
    [attribute] = attributes.json()
    created = await client.post(
        "/1/faces",
        json={"attribute_id": attribute["attribute_id"], "external_id": external_id},
        headers=auth(account),
    )
    assert created.status_code == 201, created.text
    return created.json()["face_id"]


async def face_from_descriptor(client, account: str, sdk: str) -> str:
    created = await client.post(
        "/1/faces",
        json={"attribute": {"descriptors": [{"sdk_descriptor": sdk}]}},
        headers=auth(account),
    )
    assert created.status_code == 201, created.text
    return created.json()["face_id"]


async def new_verifier(client, account: str, **policies) -> str:
    response = await client.post(
        "/1/verifiers",
        json={"description": "doc check", "policies": policies},
        headers=auth(account),
    )
    assert response.status_code == 201, response.text
    return response.json()["verifier_id"]


async def verify(client, account: str, verifier: str, query: str, photo: bytes, **headers):
    return await client.post(
        f"/1/verifiers/{verifier}/verifications?{query}",
        content=photo,
        headers=auth(account, **(headers or JPEG)),
    )


def only_face(body: dict) -> dict:
    [image] = body["images"]
    assert image["status"] == 1 and image["error"]["error_code"] == 0, image
    [face] = image["detections"]["face_detections"]
    return face


async def test_verifications_follow_the_order_of_face_ids(db_client, photo_bytes):
    account = new_account()
    obama = await face_from_photo(db_client, account, photo_bytes("obama.jpg"))
    biden_sdk = await sdk_descriptor(db_client, account, photo_bytes("biden.jpg"))
    biden = await face_from_descriptor(db_client, account, biden_sdk)
    verifier = await new_verifier(db_client, account, verification_threshold=0.6)

    response = await verify(
        db_client, account, verifier, f"face_ids={biden},{obama}", photo_bytes("obama2.jpg")
    )
    assert response.status_code == 200, response.text
    face = only_face(response.json())
    first, second = face["verifications"]
    assert first["face"]["face_id"] == biden and first["status"] is False
    assert second["face"]["face_id"] == obama and second["status"] is True
    assert second["similarity"] > 0.9 > 0.6 > first["similarity"] >= 0
    assert second["face"]["url"] == f"/1/faces/{obama}"
    # The verifier's default storage policy keeps the face sample.
    sample = face["sample"]["face"]
    assert sample["url"] == f"/1/samples/faces/{sample['sample_id']}"
    assert (await db_client.get(sample["url"], headers=auth(account))).status_code == 200
    assert sample["detection"]["rect"]["width"] > 50
    assert face["face_attributes"]["score"] > 0.5
    assert face["face_attributes"]["attribute_id"] is None  # no attribute policy

    swapped = only_face(
        (
            await verify(
                db_client, account, verifier, f"face_ids={obama},{biden}", photo_bytes("obama2.jpg")
            )
        ).json()
    )
    assert [v["face"]["face_id"] for v in swapped["verifications"]] == [obama, biden]
    assert [v["status"] for v in swapped["verifications"]] == [True, False]
    assert swapped["verifications"][0]["similarity"] == second["similarity"]

    # A stricter verifier says no to the same pair (status is similarity >= threshold).
    strict = await new_verifier(db_client, account, verification_threshold=1.0)
    strict_face = only_face(
        (
            await verify(db_client, account, strict, f"face_ids={obama}", photo_bytes("obama2.jpg"))
        ).json()
    )
    assert strict_face["verifications"][0]["status"] is False


async def test_attributes_events_and_external_ids_in_query_order(db_client, photo_bytes):
    account = new_account()
    face = await face_from_photo(db_client, account, photo_bytes("obama.jpg"))
    twins = [
        await face_from_photo(db_client, account, photo_bytes(name), external_id="emp-7")
        for name in ("obama3.jpg", "biden.jpg")
    ]
    detected = await db_client.post(
        "/1/detector", content=photo_bytes("obama3.jpg"), headers=auth(account, **JPEG)
    )
    [sample] = detected.json()["images"][0]["detections"]["samples"]
    [attribute] = (
        await db_client.post(
            "/1/extractor", json=[sample["face"]["sample_id"]], headers=auth(account)
        )
    ).json()
    handler = (
        await db_client.post(
            "/1/handlers",
            json={"policies": {"extract_policy": {"extract_face_descriptor": 1}}},
            headers=auth(account),
        )
    ).json()["handler_id"]
    generated = await db_client.post(
        f"/1/handlers/{handler}/events",
        content=photo_bytes("obama.jpg"),
        headers=auth(account, **JPEG),
    )
    assert generated.status_code == 201, generated.text
    [event] = generated.json()["events"]
    verifier = await new_verifier(
        db_client,
        account,
        storage_policy={
            "attribute_policy": {"store_attribute": 1, "ttl": 60},
            "face_sample_policy": {"store_sample": 0},
        },
    )
    query = (
        f"external_ids=emp-7&event_ids={event['event_id']}"
        f"&attribute_ids={attribute['attribute_id']}&face_ids={face}"
    )
    response = await verify(db_client, account, verifier, query, photo_bytes("obama2.jpg"))
    assert response.status_code == 200, response.text
    found = only_face(response.json())
    kinds = [
        next(k for k in ("face", "attribute", "event") if k in v) for v in found["verifications"]
    ]
    assert kinds == ["face", "attribute", "event", "face", "face"]
    checks = found["verifications"]
    assert checks[0]["face"]["face_id"] == face
    assert checks[1]["attribute"]["attribute_id"] == attribute["attribute_id"]
    assert checks[2]["event"]["event_id"] == event["event_id"]
    assert [c["face"]["face_id"] for c in checks[3:]] == twins  # oldest first
    assert [c["status"] for c in checks] == [True, True, True, True, False]
    # This verifier stores an attribute and no sample.
    assert found["sample"]["face"]["sample_id"] is None
    stored = found["face_attributes"]["attribute_id"]
    assert found["face_attributes"]["url"] == f"/1/attributes/{stored}"
    assert (
        await db_client.get(f"/1/attributes/{stored}", headers=auth(account))
    ).status_code == 200


async def test_a_descriptor_instead_of_an_image(db_client, photo_bytes):
    account = new_account()
    obama = await face_from_photo(db_client, account, photo_bytes("obama.jpg"))
    verifier = await new_verifier(db_client, account)
    sdk = await sdk_descriptor(db_client, account, photo_bytes("obama2.jpg"))
    for media, body in (
        ("application/x-sdk-descriptor", base64.b64decode(sdk)),
        ("application/x-sdk-descriptor-base64", sdk.encode()),
    ):
        response = await verify(
            db_client, account, verifier, f"face_ids={obama}", body, **{"Content-Type": media}
        )
        assert response.status_code == 200, response.text
        face = only_face(response.json())
        assert face["sample"] is None
        [check] = face["verifications"]
        assert check["face"]["face_id"] == obama and check["status"] is True
    other_version = base64.b64encode(descriptor_format.pack(np.ones(512), 7)).decode()
    assert_luna_error(
        await verify(
            db_client,
            account,
            verifier,
            f"face_ids={obama}",
            other_version.encode(),
            **{"Content-Type": "application/x-sdk-descriptor-base64"},
        ),
        12031,
        400,
    )


async def test_each_image_fails_alone_and_filtered_faces_are_shown(db_client, photo_bytes):
    account = new_account()
    obama = await face_from_photo(db_client, account, photo_bytes("obama.jpg"))
    verifier = await new_verifier(db_client, account, detect_policy={"yaw_threshold": 20})
    files = [
        ("image", ("doc.jpg", photo_bytes("obama2.jpg"), "image/jpeg")),
        ("image", ("broken.jpg", photo_bytes("obama2.jpg")[:400], "image/jpeg")),
        ("image", ("turned.jpg", photo_bytes("turned_head.jpg"), "image/jpeg")),
    ]
    response = await db_client.post(
        f"/1/verifiers/{verifier}/verifications?face_ids={obama}",
        files=files,
        headers=auth(account),
    )
    assert response.status_code == 200, response.text
    good, broken, turned = response.json()["images"]
    assert [good["filename"], broken["filename"], turned["filename"]] == [
        "doc.jpg",
        "broken.jpg",
        "turned.jpg",
    ]
    assert good["detections"]["face_detections"][0]["verifications"][0]["status"] is True
    assert broken["status"] == 0 and broken["error"]["error_code"] == 18002
    assert turned["detections"]["face_detections"] == []
    [filtered] = turned["detections"]["filtered_detections"]["face_detections"]
    assert filtered["filter_reasons"][0]["filter_name"] == "yaw_threshold"


async def test_verification_errors(db_client, photo_bytes):
    account, stranger = new_account(), new_account()
    obama = await face_from_photo(db_client, account, photo_bytes("obama.jpg"))
    verifier = await new_verifier(db_client, account)
    photo = photo_bytes("obama2.jpg")
    missing = str(uuid.uuid4())

    assert_luna_error(
        await verify(db_client, account, missing, f"face_ids={obama}", photo), 34004, 404
    )
    assert_luna_error(await verify(db_client, account, verifier, "", photo), 12014, 400)
    body = assert_luna_error(
        await verify(db_client, account, verifier, f"face_ids={obama},{missing}", photo), 11020, 404
    )
    assert missing in body["detail"]
    for kind in ("attribute_ids", "event_ids"):
        assert_luna_error(
            await verify(db_client, account, verifier, f"{kind}={missing}", photo), 11020, 404
        )
    assert_luna_error(
        await verify(db_client, account, verifier, "external_ids=nobody", photo), 11020, 404
    )
    assert_luna_error(
        await verify(db_client, account, verifier, "face_ids=not-a-uuid", photo), 12012, 400
    )
    many = ",".join(str(uuid.uuid4()) for _ in range(101))
    body = assert_luna_error(
        await verify(db_client, account, verifier, f"face_ids={many}", photo), 12012, 400
    )
    assert "at most 100" in body["detail"]
    # A face holding only a descriptor of another model cannot be verified against.
    old = await db_client.post(
        "/1/faces",
        json={
            "descriptors": [
                {
                    "raw_descriptor": base64.b64encode(descriptor_format.raw(np.ones(64))).decode(),
                    "version": 7,
                }
            ]
        },
        headers=auth(account),
    )
    assert old.status_code == 201, old.text
    assert_luna_error(
        await verify(db_client, account, verifier, f"face_ids={old.json()['face_id']}", photo),
        12031,
        400,
    )
    # Another account sees neither the verifier nor the face.
    assert_luna_error(
        await verify(db_client, stranger, verifier, f"face_ids={obama}", photo), 34004, 404
    )
    theirs = await new_verifier(db_client, stranger)
    assert_luna_error(
        await verify(db_client, stranger, theirs, f"face_ids={obama}", photo), 11020, 404
    )


async def test_raw_verification_json_and_msgpack(db_client, photo_bytes):
    account = new_account()
    verifier = await new_verifier(db_client, account, verification_threshold=0.6)
    obama, obama2, biden = [
        await sdk_descriptor(db_client, account, photo_bytes(name))
        for name in ("obama.jpg", "obama2.jpg", "biden.jpg")
    ]
    body = {
        "references": [{"id": "passport", "type": "sdk_descriptor", "data": obama}],
        "candidates": [
            {"id": "selfie", "type": "sdk_descriptor", "data": obama2},
            {"id": "other", "type": "sdk_descriptor", "data": biden},
        ],
    }
    response = await db_client.post(
        f"/1/verifiers/{verifier}/raw", json=body, headers=auth(account)
    )
    assert response.status_code == 200, response.text
    [result] = response.json()["matches"]
    assert result["reference_id"] == "passport"
    selfie, other = result["matches"]
    assert selfie["candidate_id"] == "selfie" and selfie["status"] is True
    assert other["candidate_id"] == "other" and other["status"] is False
    assert selfie["similarity"] > 0.9 and other["similarity"] < 0.6

    # msgpack, with binary data, and the raw form of the same descriptors: the same answer.
    raw = descriptor_format.raw(descriptor_format.unpack(base64.b64decode(obama2))[0])
    packed = {
        "references": [
            {"id": "passport", "type": "sdk_descriptor", "data": base64.b64decode(obama)}
        ],
        "candidates": [
            {"id": "selfie", "type": "raw_descriptor", "data": raw, "version": 1001},
            {"id": "other", "type": "sdk_descriptor", "data": base64.b64decode(biden)},
        ],
    }
    again = await db_client.post(
        f"/1/verifiers/{verifier}/raw",
        content=msgpack.packb(packed, use_bin_type=True),
        headers=auth(account, **{"Content-Type": "application/msgpack"}),
    )
    assert again.status_code == 200, again.text
    assert again.json() == response.json()


async def test_raw_verification_errors(db_client):
    account = new_account()
    verifier = await new_verifier(db_client, account)
    good = base64.b64encode(descriptor_format.pack(np.ones(512), 1001)).decode()
    item = {"id": "a", "type": "sdk_descriptor", "data": good}

    async def post(body, verifier_id=verifier, **headers):
        if isinstance(body, bytes):
            return await db_client.post(
                f"/1/verifiers/{verifier_id}/raw", content=body, headers=auth(account, **headers)
            )
        return await db_client.post(
            f"/1/verifiers/{verifier_id}/raw", json=body, headers=auth(account)
        )

    ok = await post({"references": [item], "candidates": [item]})
    assert ok.json()["matches"][0]["matches"][0]["similarity"] > 0.99
    assert_luna_error(
        await post({"references": [item], "candidates": [item]}, str(uuid.uuid4())), 34004, 404
    )
    assert_luna_error(await post({"references": [], "candidates": [item]}), 12022, 400)
    body = assert_luna_error(
        await post({"references": [item], "candidates": [item] * 1001}), 12022, 400
    )
    assert "candidates" in body["detail"]
    other = base64.b64encode(descriptor_format.pack(np.ones(512), 7)).decode()
    assert_luna_error(
        await post({"references": [item], "candidates": [{**item, "data": other}]}), 12031, 400
    )
    assert_luna_error(
        await post({"references": [item], "candidates": [{**item, "data": "!!"}]}), 18001, 400
    )
    assert_luna_error(
        await post({"references": [item], "candidates": [{**item, "type": "xpk_file"}]}), 12031, 400
    )
    assert_luna_error(
        await post(
            {
                "references": [item],
                "candidates": [{"id": "r", "type": "raw_descriptor", "data": good}],
            }
        ),
        12031,
        400,
    )
    assert_luna_error(await post(b"\xc1", **{"Content-Type": "application/msgpack"}), 12031, 400)
    assert_luna_error(await post(b"{}", **{"Content-Type": "text/plain"}), 12017, 400)

"""Samples, extractor, temporary attributes, faces, lists, upgrade, and account isolation;
on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64

import cv2
import numpy as np

from models import descriptor_format
from serve_app.storage.attributes import AttributeStore
from tests.api.helpers import assert_luna_error
from tests.conftest import new_account

JPEG = {"Content-Type": "image/jpeg"}


def auth(account: str) -> dict[str, str]:
    return {"Luna-Account-Id": account}


async def detect_samples(client, account: str, photo: bytes) -> list[str]:
    response = await client.post("/1/detector", content=photo, headers={**JPEG, **auth(account)})
    assert response.status_code == 200, response.text
    faces = [s["face"] for s in response.json()["images"][0]["detections"]["samples"]]
    for face in faces:
        assert face["url"] == f"/1/samples/faces/{face['sample_id']}"
    return [face["sample_id"] for face in faces]


async def test_detector_samples_are_served_as_face_warps(db_client, photo_bytes):
    account = new_account()
    samples = await detect_samples(db_client, account, photo_bytes("group_six.jpg"))
    assert len(samples) == 6 and len(set(samples)) == 6
    response = await db_client.get(f"/1/samples/faces/{samples[0]}", headers=auth(account))
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    warp = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    assert warp.shape == (250, 250, 3)
    missing = "00000000-0000-4000-8000-000000000000"
    assert_luna_error(
        await db_client.get(f"/1/samples/faces/{missing}", headers=auth(account)), 13003, 404
    )


async def test_extractor_attributes_and_their_ttl(db_client, backend_services, photo_bytes):
    account = new_account()
    [obama] = await detect_samples(db_client, account, photo_bytes("obama.jpg"))
    [obama2] = await detect_samples(db_client, account, photo_bytes("obama2.jpg"))
    response = await db_client.post(
        "/1/extractor?extract_basic_attributes=1&ttl=2", json=[obama, obama2], headers=auth(account)
    )
    assert response.status_code == 201, response.text
    first, second = response.json()
    assert first["samples"] == [obama] and second["samples"] == [obama2]
    for item in (first, second):
        assert item["score"] > 0.9 and item["basic_attributes"]["gender"] == 1
        assert 35 <= item["basic_attributes"]["age"] <= 60
    attribute = (await db_client.get(first["url"], headers=auth(account))).json()
    vector, version = descriptor_format.unpack(
        base64.b64decode(attribute["descriptor"]["sdk_descriptor"])
    )
    assert version == 1001 and vector.shape == (512,)

    aggregated = await db_client.post(
        "/1/extractor?aggregate_attributes=1", json=[obama, obama2], headers=auth(account)
    )
    [one] = aggregated.json()
    assert one["samples"] == [obama, obama2] and "basic_attributes" not in one

    await asyncio.sleep(2.2)
    assert_luna_error(await db_client.get(first["url"], headers=auth(account)), 22012, 404)
    storage = await backend_services.storage.ready()
    await storage.expire()
    async with storage.database.transaction() as session:  # the row itself is gone
        assert await AttributeStore(session, account).get(first["attribute_id"]) is None
        from sqlalchemy import func, select

        from serve_app.storage.tables import Attribute

        left = await session.execute(
            select(func.count())
            .select_from(Attribute)
            .where(Attribute.attribute_id == first["attribute_id"])
        )
        assert left.scalar_one() == 0


async def test_extractor_score_threshold_and_bad_input(db_client, photo_bytes):
    account = new_account()
    [sample] = await detect_samples(db_client, account, photo_bytes("obama.jpg"))
    kept = await db_client.post(
        "/1/extractor?score_threshold=0.5", json=[sample], headers=auth(account)
    )
    assert len(kept.json()) == 1
    dropped = await db_client.post(
        "/1/extractor?score_threshold=1", json=[sample], headers=auth(account)
    )
    assert dropped.status_code == 201 and dropped.json() == []
    missing = "00000000-0000-4000-8000-000000000000"
    assert_luna_error(
        await db_client.post("/1/extractor", json=[sample, missing], headers=auth(account)),
        13003,
        404,
    )
    assert_luna_error(
        await db_client.post("/1/extractor", json=[], headers=auth(account)), 12022, 400
    )
    assert_luna_error(
        await db_client.post("/1/extractor", json=["not-a-uuid"], headers=auth(account)), 12022, 400
    )
    assert_luna_error(
        await db_client.post("/1/extractor?ttl=86401", json=[sample], headers=auth(account)),
        12012,
        400,
    )


async def test_faces_and_lists(db_client, photo_bytes):
    account = new_account()
    [sample] = await detect_samples(db_client, account, photo_bytes("obama.jpg"))
    [attribute] = (
        await db_client.post(
            "/1/extractor?extract_basic_attributes=1", json=[sample], headers=auth(account)
        )
    ).json()
    vip = (
        await db_client.post("/1/lists", json={"user_data": "vip"}, headers=auth(account))
    ).json()["list_id"]
    other = (await db_client.post("/1/lists", json={}, headers=auth(account))).json()["list_id"]
    created = await db_client.post(
        "/1/faces",
        json={
            "attribute_id": attribute["attribute_id"],
            "user_data": "Barack",
            "external_id": "44",
            "lists": [vip],
        },
        headers=auth(account),
    )
    assert created.status_code == 201, created.text
    face_id = created.json()["face_id"]
    face = (await db_client.get(f"/1/faces/{face_id}", headers=auth(account))).json()
    assert face["lists"] == [vip] and face["user_data"] == "Barack" and face["external_id"] == "44"
    assert face["attributes"]["descriptors"][0]["version"] == 1001
    assert face["attributes"]["basic_attributes"]["gender"] == 1
    assert face["attributes"]["samples"] == [sample]

    raw = base64.b64encode(np.ones(512, np.float32).tobytes()).decode()
    second = await db_client.post(
        "/1/faces",
        json={"descriptors": [{"raw_descriptor": raw, "version": 1001}]},
        headers=auth(account),
    )
    second_id = second.json()["face_id"]
    link = await db_client.patch(
        f"/1/lists/{other}/faces",
        json={"action": "attach", "face_ids": [face_id, second_id]},
        headers=auth(account),
    )
    assert link.status_code == 204
    lists = {
        item["list_id"]: item["faces_count"]
        for item in (await db_client.get("/1/lists", headers=auth(account))).json()["lists"]
    }
    assert lists == {vip: 1, other: 2}
    in_other = (await db_client.get(f"/1/faces?list_id={other}", headers=auth(account))).json()[
        "faces"
    ]
    assert {f["face_id"] for f in in_other} == {face_id, second_id}
    by_external = (await db_client.get("/1/faces?external_id=44", headers=auth(account))).json()[
        "faces"
    ]
    assert [f["face_id"] for f in by_external] == [face_id]

    patched = await db_client.patch(
        f"/1/faces/{face_id}", json={"user_data": "Obama"}, headers=auth(account)
    )
    assert patched.status_code == 204
    assert (await db_client.get(f"/1/faces/{face_id}", headers=auth(account))).json()[
        "user_data"
    ] == "Obama"
    await db_client.patch(
        f"/1/lists/{other}/faces",
        json={"action": "detach", "face_ids": [second_id]},
        headers=auth(account),
    )
    assert (await db_client.get(f"/1/lists/{other}", headers=auth(account))).json()[
        "faces_count"
    ] == 1

    # Removing a face takes it out of its lists; removing a list keeps its faces.
    assert (await db_client.delete(f"/1/faces/{face_id}", headers=auth(account))).status_code == 204
    assert (await db_client.get(f"/1/lists/{vip}", headers=auth(account))).json()[
        "faces_count"
    ] == 0
    assert (await db_client.delete(f"/1/lists/{other}", headers=auth(account))).status_code == 204
    assert (await db_client.get(f"/1/faces/{second_id}", headers=auth(account))).json()[
        "lists"
    ] == []
    assert_luna_error(await db_client.get(f"/1/lists/{other}", headers=auth(account)), 22003, 404)
    assert_luna_error(await db_client.get(f"/1/faces/{face_id}", headers=auth(account)), 22002, 404)

    bad = await db_client.post(
        "/1/faces",
        json={"lists": [other], "descriptors": [{"raw_descriptor": raw, "version": 1001}]},
        headers=auth(account),
    )
    assert_luna_error(bad, 11020, 404)
    garbage = await db_client.post(
        "/1/faces", json={"descriptors": [{"sdk_descriptor": "AAAA"}]}, headers=auth(account)
    )
    assert_luna_error(garbage, 12031, 400)


async def test_attribute_upgrade_appends_a_version_and_replaces_attributes(db_client, photo_bytes):
    account = new_account()
    [sample] = await detect_samples(db_client, account, photo_bytes("obama.jpg"))
    old = np.random.default_rng(3).normal(size=128).astype(np.float32)
    created = await db_client.post(
        "/1/faces",
        json={
            "descriptors": [
                {"raw_descriptor": base64.b64encode(old.tobytes()).decode(), "version": 7}
            ],
            "basic_attributes": {"age": 99, "gender": 0},
        },
        headers=auth(account),
    )
    face_id = created.json()["face_id"]
    response = await db_client.post(
        "/1/extractor/upgrade",
        json={"face_id": face_id, "upgrade_data": {"samples": [sample], "basic_attributes": 1}},
        headers=auth(account),
    )
    assert response.status_code == 200, response.text
    attributes = response.json()["face_attributes"]
    assert [d["version"] for d in attributes["descriptors"]] == [7, 1001]
    assert (
        attributes["basic_attributes"]["gender"] == 1 and attributes["basic_attributes"]["age"] < 99
    )
    assert attributes["samples"] == [sample]
    # Upgrading again from the face's own samples replaces, never duplicates, the version.
    again = await db_client.post(
        "/1/extractor/upgrade", json={"face_id": face_id}, headers=auth(account)
    )
    assert [d["version"] for d in again.json()["face_attributes"]["descriptors"]] == [7, 1001]
    no_samples = await db_client.post(
        "/1/faces",
        json={
            "descriptors": [
                {"raw_descriptor": base64.b64encode(old.tobytes()).decode(), "version": 7}
            ]
        },
        headers=auth(account),
    )
    refused = await db_client.post(
        "/1/extractor/upgrade",
        json={"face_id": no_samples.json()["face_id"]},
        headers=auth(account),
    )
    assert "no samples" in assert_luna_error(refused, 12031, 400)["detail"]


async def test_accounts_never_see_each_others_objects(db_client, photo_bytes):
    owner, stranger = new_account(), new_account()
    [sample] = await detect_samples(db_client, owner, photo_bytes("obama.jpg"))
    [attribute] = (await db_client.post("/1/extractor", json=[sample], headers=auth(owner))).json()
    list_id = (await db_client.post("/1/lists", json={}, headers=auth(owner))).json()["list_id"]
    face_id = (
        await db_client.post(
            "/1/faces",
            json={"attribute_id": attribute["attribute_id"], "lists": [list_id]},
            headers=auth(owner),
        )
    ).json()["face_id"]
    handler = (
        await db_client.post("/1/handlers", json={"description": "mine"}, headers=auth(owner))
    ).json()
    verifier = (
        await db_client.post("/1/verifiers", json={"description": "mine"}, headers=auth(owner))
    ).json()
    own_list = (await db_client.post("/1/lists", json={}, headers=auth(stranger))).json()["list_id"]
    them = auth(stranger)

    for url, code in [
        (handler["url"], 11033), (verifier["url"], 34004), (f"/1/faces/{face_id}", 22002),
        (f"/1/lists/{list_id}", 22003), (attribute["url"], 22012), (f"/1/samples/faces/{sample}", 13003),
    ]:  # fmt: skip
        assert_luna_error(await db_client.get(url, headers=them), code, 404)
        if not url.startswith("/1/samples"):
            assert_luna_error(await db_client.delete(url, headers=them), code, 404)
    for url in (handler["url"], verifier["url"]):
        assert (await db_client.head(url, headers=them)).status_code == 404
    assert_luna_error(await db_client.put(handler["url"], json={}, headers=them), 11033, 404)
    assert_luna_error(await db_client.put(verifier["url"], json={}, headers=them), 34004, 404)
    assert_luna_error(
        await db_client.patch(f"/1/faces/{face_id}", json={"user_data": "x"}, headers=them),
        22002,
        404,
    )
    assert (await db_client.get("/1/handlers", headers=them)).json() == []
    assert (await db_client.get("/1/verifiers", headers=them)).json() == []
    assert (await db_client.get("/1/handlers/count", headers=them)).json() == {"handlers_count": 0}
    assert (await db_client.get("/1/verifiers/count", headers=them)).json() == {
        "verifiers_count": 0
    }
    assert (await db_client.get("/1/faces", headers=them)).json() == {"faces": []}
    assert [
        item["list_id"] for item in (await db_client.get("/1/lists", headers=them)).json()["lists"]
    ] == [own_list]
    assert (await db_client.get(f"/1/faces?list_id={list_id}", headers=them)).json() == {
        "faces": []
    }
    assert_luna_error(await db_client.post("/1/extractor", json=[sample], headers=them), 13003, 404)
    assert_luna_error(
        await db_client.post(
            "/1/faces", json={"attribute_id": attribute["attribute_id"]}, headers=them
        ),
        22012,
        404,
    )
    assert_luna_error(
        await db_client.post(
            "/1/faces",
            json={
                "lists": [list_id],
                "descriptors": [
                    {
                        "sdk_descriptor": base64.b64encode(
                            descriptor_format.pack(np.ones(512), 1001)
                        ).decode()
                    }
                ],
            },
            headers=them,
        ),
        11020,
        404,
    )
    attach = await db_client.patch(
        f"/1/lists/{own_list}/faces", json={"action": "attach", "face_ids": [face_id]}, headers=them
    )
    assert_luna_error(attach, 11020, 404)
    assert_luna_error(
        await db_client.patch(
            f"/1/lists/{list_id}/faces",
            json={"action": "detach", "face_ids": [face_id]},
            headers=them,
        ),
        22003,
        404,
    )
    assert_luna_error(
        await db_client.post("/1/extractor/upgrade", json={"face_id": face_id}, headers=them),
        22002,
        404,
    )
    # Asking by query for another account than the header's is refused.
    peek = await db_client.get(f"/1/handlers?account_id={owner}", headers=them)
    assert_luna_error(peek, 12012, 400)
    # The owner still has everything.
    assert (await db_client.get(f"/1/faces/{face_id}", headers=auth(owner))).json()["lists"] == [
        list_id
    ]
    assert (await db_client.get("/1/handlers/count", headers=auth(owner))).json() == {
        "handlers_count": 1
    }
    # Without the header the account_id query scopes reads the same way.
    by_query = await db_client.get(
        f"/1/handlers?account_id={owner}", headers={"Luna-Account-Id": ""}
    )
    assert [h["handler_id"] for h in by_query.json()] == [handler["handler_id"]]
    # With authentication off, a list without an account is of every account (the
    # document makes the account optional there); one object still needs its account.
    everyone = await db_client.get("/1/handlers", headers={"Luna-Account-Id": ""})
    assert handler["handler_id"] in [h["handler_id"] for h in everyone.json()]
    nobody = await db_client.get(
        f"/1/handlers/{handler['handler_id']}", headers={"Luna-Account-Id": ""}
    )
    assert_luna_error(nobody, 11036, 403)


async def test_faces_take_luna_faces_body(db_client, photo_bytes):
    """``POST /1/faces`` as LUNA Faces' clients send it: what the face holds is inside
    ``attribute`` (a temporary attribute's id, or descriptors and basic attributes)."""
    account = new_account()
    [sample] = await detect_samples(db_client, account, photo_bytes("obama.jpg"))
    [attribute] = (
        await db_client.post(
            "/1/extractor?extract_basic_attributes=1", json=[sample], headers=auth(account)
        )
    ).json()
    list_id = (await db_client.post("/1/lists", json={}, headers=auth(account))).json()["list_id"]
    created = await db_client.post(
        "/1/faces",
        json={
            "attribute": {"attribute_id": attribute["attribute_id"]},
            "user_data": "Barack",
            "external_id": "ext-1",
            "avatar": f"/1/samples/faces/{sample}",
            "lists": [list_id],
        },
        headers=auth(account),
    )
    assert created.status_code == 201, created.text
    face = (await db_client.get(created.json()["url"], headers=auth(account))).json()
    assert face["lists"] == [list_id] and face["external_id"] == "ext-1"
    assert face["user_data"] == "Barack" and face["avatar"] == f"/1/samples/faces/{sample}"
    assert [d["version"] for d in face["attributes"]["descriptors"]] == [1001]
    assert face["attributes"]["samples"] == [sample]
    assert face["attributes"]["basic_attributes"] == attribute["basic_attributes"]

    sdk = base64.b64encode(descriptor_format.pack(np.ones(512), 1001)).decode()
    from_descriptors = await db_client.post(
        "/1/faces",
        json={
            "attribute": {
                "descriptors": [{"sdk_descriptor": sdk}],
                "basic_attributes": {"age": 31, "gender": 0},
            }
        },
        headers=auth(account),
    )
    assert from_descriptors.status_code == 201, from_descriptors.text
    held = (await db_client.get(from_descriptors.json()["url"], headers=auth(account))).json()
    assert [d["version"] for d in held["attributes"]["descriptors"]] == [1001]
    assert held["attributes"]["basic_attributes"] == {"age": 31, "gender": 0}

    for body, path in [
        # One form per request: LUNA's nested attribute, or the flat fields.
        ({"attribute": {"attribute_id": attribute["attribute_id"]},
          "descriptors": [{"sdk_descriptor": sdk}]}, ""),
        ({"attribute": {"attribute_id": attribute["attribute_id"],
                        "descriptors": [{"sdk_descriptor": sdk}]}}, "attribute"),
        ({"attribute": {"attribute_id": "not-a-uuid"}}, "attribute.attribute_id"),
        ({"attribute": {"descriptors": []}}, "attribute.descriptors"),
        ({"attribute": {"basic_attributes": {"age": 31}}}, "attribute.basic_attributes.gender"),
        ({"attribute": {"face_id": attribute["attribute_id"]}}, "attribute.face_id"),
    ]:  # fmt: skip
        refused = await db_client.post("/1/faces", json=body, headers=auth(account))
        assert f"Path: '{path}'" in assert_luna_error(refused, 12022, 400)["detail"], body
    # The nested form keeps accounts apart as the flat one does.
    stranger = await db_client.post(
        "/1/faces",
        json={"attribute": {"attribute_id": attribute["attribute_id"]}},
        headers=auth(new_account()),
    )
    assert_luna_error(stranger, 22012, 404)
    # A descriptor of the configured version must have the configured size.
    short = base64.b64encode(descriptor_format.pack(np.ones(128), 1001)).decode()
    wrong_size = await db_client.post(
        "/1/faces",
        json={"attribute": {"descriptors": [{"sdk_descriptor": short}]}},
        headers=auth(account),
    )
    assert "512 dimensions" in assert_luna_error(wrong_size, 12031, 400)["detail"]

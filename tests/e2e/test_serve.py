"""The real Ray Serve app of serve_config.yaml: ingress and detector deployments over HTTP."""

from __future__ import annotations

import asyncio
import base64

import numpy as np
import pytest

from serve_app.http.timing import parse
from tests.api.helpers import assert_faces_at, assert_luna_error, detector_images

pytestmark = pytest.mark.e2e

REQUEST_ID = "1536751345,8b8b5937-2e9c-4e8b-a7a7-5caf86621b5a"


async def test_service_routes(client):
    version = await client.get("/version", headers={"Luna-Request-Id": REQUEST_ID})
    assert version.status_code == 200
    assert version.headers["Luna-Request-Id"] == REQUEST_ID
    assert version.json()["Version"]["api"] == 1
    assert (await client.get("/healthcheck")).status_code == 200
    config = (await client.get("/1/config")).json()
    assert config["deployment"]["runtime"] == "ray-serve"
    # Every estimator with a model is its own deployment; classical methods run in the ingress.
    assert config["deployment"]["estimators"] == [
        "background",
        "basic_attributes",
        "body_detector",
        "emotions",
        "face_descriptor",
        "face_detector",
        "face_landmarks",
        "mask",
        "mouth",
    ]


async def test_every_estimator_deployment_answers_through_ray(client, photo_bytes):
    query = (
        "detect_face=1&detect_body=1&estimate_emotions=1&estimate_mask=1"
        "&estimate_mouth_attributes=1&estimate_upper_body=1"
    )
    response = await client.post(
        f"/1/sdk?{query}",
        content=photo_bytes("street_bus.jpg"),
        headers={"Content-Type": "image/jpeg"},
    )
    assert response.status_code == 200, response.text
    # Each deployment's own model time and the call's wait in the replica come back beside
    # the hop, so what the transport costs shows.
    stages = parse(response.headers["server-timing"])
    for task in ("face_detector", "body_detector", "emotions", "mask", "mouth"):
        assert 0 < stages[f"{task}.model"] <= stages[task]
        assert 0 <= stages[f"{task}.queue"] < stages[task] - stages[f"{task}.model"]
    people = response.json()["images_estimations"][0]["estimations"]
    paired = [p for p in people if "face" in p and "body" in p]
    assert len(paired) == 2
    for person in paired:
        assert {"emotions", "mask", "mouth_attributes"} <= set(person["face"]["attributes"])
        assert person["body"]["attributes"]["upper_body"]["upper_clothing"]["colors"]
    iso = await client.post(
        "/1/iso", content=photo_bytes("frontal_smile.jpg"), headers={"Content-Type": "image/jpeg"}
    )
    [face] = iso.json()["images"][0]["estimations"]
    names = {c["name"] for c in face["face"]["detection"]["iso"]["checks"]}
    assert {"head_yaw", "background_uniformity", "mouth_smiling", "mask"} <= names


async def test_group_photo_as_jpeg_base64_and_multipart(client, photo_bytes, photos):
    group = photo_bytes("group_six.jpg")
    centers = photos["group_six.jpg"]["centers"]
    as_jpeg = await client.post(
        "/1/detector", content=group, headers={"Content-Type": "image/jpeg"}
    )
    assert_faces_at(detector_images(as_jpeg)[0], centers)
    as_base64 = await client.post(
        "/1/detector",
        content=base64.b64encode(group),
        headers={"Content-Type": "image/x-jpeg-base64"},
    )
    assert_faces_at(detector_images(as_base64)[0], centers)
    files = [
        ("image", ("friends.jpg", group, "image/jpeg")),
        ("image", ("astronaut.png", photo_bytes("astronaut.png"), "image/png")),
        ("image", ("broken.jpg", group[:400], "image/jpeg")),
    ]
    friends, astronaut, broken = detector_images(await client.post("/1/detector", files=files))
    assert friends["filename"] == "friends.jpg"
    assert_faces_at(friends, centers)
    assert_faces_at(astronaut, photos["astronaut.png"]["centers"])
    assert broken["error"]["error_code"] == 18002


async def test_concurrent_requests_each_get_their_own_faces(client, photo_bytes, photos):
    # Requests share detector batches; every answer must still be about its own image.
    names = [
        "group_six.jpg",
        "astronaut.png",
        "coffee.png",
        "obama.jpg",
        "tom_hanks_crop.png",
        "biden.jpg",
    ] * 4
    types = {"jpg": "image/jpeg", "png": "image/png"}

    async def detect(name: str):
        response = await client.post(
            "/1/detector",
            content=photo_bytes(name),
            headers={"Content-Type": types[name.rsplit(".", 1)[1]]},
        )
        return name, detector_images(response)[0]

    for name, image in await asyncio.gather(*(detect(name) for name in names)):
        assert_faces_at(image, photos[name]["centers"])


async def test_errors_through_the_proxy(client):
    assert_luna_error(await client.get("/1/nothing"), 12013, 404)
    response = await client.post(
        "/1/detector", content=b"x", headers={"Content-Type": "image/jpeg", "Luna-Account-Id": "no"}
    )
    assert_luna_error(response, 11037, 400)


async def test_sdk_runs_every_estimator_deployment(client, photo_bytes, photos):
    query = (
        "detect_face=1&estimate_landmarks68=1&estimate_head_pose=1&estimate_quality=1"
        "&estimate_basic_attributes=1&estimate_face_descriptor=1"
    )
    names = ["group_six.jpg", "obama.jpg", "astronaut.png"] * 3

    async def sdk(name: str):
        kind = "png" if name.endswith(".png") else "jpeg"
        response = await client.post(
            f"/1/sdk?{query}", content=photo_bytes(name), headers={"Content-Type": f"image/{kind}"}
        )
        assert response.status_code == 200, response.text
        return name, response.json()["images_estimations"][0]

    results = await asyncio.gather(*(sdk(name) for name in names))
    descriptors: dict[str, list] = {}
    for name, image in results:
        assert len(image["estimations"]) == photos[name]["faces"]
        for estimation in image["estimations"]:
            face = estimation["face"]
            assert len(face["detection"]["landmarks68"]) == 68
            assert {"head_pose", "basic_attributes", "descriptor"} <= set(face["attributes"])
        by_position = sorted(
            image["estimations"], key=lambda e: e["face"]["detection"]["rect"]["x"]
        )
        descriptors.setdefault(name, []).append(
            [e["face"]["attributes"]["descriptor"]["raw_descriptor"] for e in by_position]
        )
    # The same photo gives the same descriptors whatever batch it shared with others.
    for runs in descriptors.values():
        first = [np.frombuffer(base64.b64decode(d), "<f4") for d in runs[0]]
        for run in runs[1:]:
            for a, b in zip(
                first, [np.frombuffer(base64.b64decode(d), "<f4") for d in run], strict=True
            ):
                assert float(a @ b) > 0.999


async def test_storage_through_the_service(client, photo_bytes):
    account = {"Luna-Account-Id": "0b7c3f2e-8d41-4a6b-9c05-2e6f1a3d4b5c"}
    created = await client.post("/1/handlers", json={"description": "e2e"}, headers=account)
    assert created.status_code == 201, created.text
    assert (await client.get(created.json()["url"], headers=account)).json()["description"] == "e2e"
    response = await client.post(
        "/1/detector",
        content=photo_bytes("obama.jpg"),
        headers={**account, "Content-Type": "image/jpeg"},
    )
    [sample] = response.json()["images"][0]["detections"]["samples"]
    image = await client.get(sample["face"]["url"], headers=account)
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    extracted = await client.post(
        "/1/extractor?extract_basic_attributes=1",
        json=[sample["face"]["sample_id"]],
        headers=account,
    )
    assert extracted.status_code == 201, extracted.text
    [attribute] = extracted.json()
    assert attribute["basic_attributes"]["gender"] == 1
    face = await client.post(
        "/1/faces", json={"attribute_id": attribute["attribute_id"]}, headers=account
    )
    assert face.status_code == 201
    assert (await client.delete(created.json()["url"], headers=account)).status_code == 204

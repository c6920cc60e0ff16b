"""The real Ray Serve app of serve_config.yaml: ingress and detector deployments over HTTP."""

from __future__ import annotations

import asyncio
import base64

import pytest

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
    assert config["deployment"]["estimators"] == ["face_detector"]


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

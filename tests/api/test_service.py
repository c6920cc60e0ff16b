"""Version, health, config, docs, and the protocol every route follows."""

from __future__ import annotations

import uuid

import yaml

from serve_app.app import ROUTERS
from serve_app.http.protocol import REQUEST_ID_PATTERN
from tests.api.conftest import make_services
from tests.api.helpers import assert_luna_error

OUR_ID = "1536751345,8b8b5937-2e9c-4e8b-a7a7-5caf86621b5a"


async def test_version(client):
    response = await client.get("/version")
    assert response.status_code == 200
    body = response.json()
    assert body["Version"] == {"api": 1, "major": 2, "minor": 16, "patch": 1}
    assert body["service"]["name"] == "luna-serve"


async def test_request_id_is_echoed_when_valid_and_generated_otherwise(client):
    response = await client.get("/version", headers={"Luna-Request-Id": OUR_ID})
    assert response.headers["Luna-Request-Id"] == OUR_ID
    for bad in ("", "123,abc", "1536751345," + "x" * 36, OUR_ID + "0"):
        response = await client.get("/version", headers={"Luna-Request-Id": bad})
        generated = response.headers["Luna-Request-Id"]
        assert REQUEST_ID_PATTERN.match(generated) and generated != bad
        assert uuid.UUID(generated.split(",")[1]).version == 4
    # errors carry it too
    response = await client.get("/no/such/route", headers={"Luna-Request-Id": OUR_ID})
    assert_luna_error(response, 12013, 404)
    assert response.headers["Luna-Request-Id"] == OUR_ID


async def test_crash_is_luna_error_one_with_request_id(make_client, models_dir):
    services = make_services(models_dir)

    async def broken(task, items):
        raise RuntimeError("boom")

    services.estimators.run = broken
    client = make_client(services)
    response = await client.post(
        "/1/detector",
        content=b"\xff\xd8\xff\xe0" + b"0" * 100,
        headers={"Content-Type": "image/jpeg", "Luna-Request-Id": OUR_ID},
    )
    # The broken JPEG fails on its own before the detector is asked; a good one reaches it.
    assert response.status_code == 200
    import cv2
    import numpy as np

    good = cv2.imencode(".jpg", np.zeros((64, 64, 3), np.uint8))[1].tobytes()
    response = await client.post(
        "/1/detector",
        content=good,
        headers={"Content-Type": "image/jpeg", "Luna-Request-Id": OUR_ID},
    )
    body = assert_luna_error(response, 1, 500)
    assert body["desc"] == "Internal server error"
    assert response.headers["Luna-Request-Id"] == OUR_ID


async def test_health(client, make_client, models_dir, tmp_path):
    response = await client.get("/healthcheck")
    assert response.status_code == 200
    assert response.json()["execution_time"] >= 0
    assert (await client.get("/1/healthcheck")).status_code == 200
    broken = make_client(make_services(tmp_path))
    body = assert_luna_error(await broken.get("/healthcheck"), 38001, 502)
    assert "face_detector" in body["detail"] and "models.provision" in body["detail"]


async def test_config_hides_secrets(make_client, models_dir):
    client = make_client(
        make_services(models_dir, database_url="postgresql+asyncpg://luna:s3cret@db:5432/luna")
    )
    response = await client.get("/1/config")
    assert response.status_code == 200
    text = response.text
    assert "s3cret" not in text
    settings = response.json()["settings"]
    assert settings["database_url"] == "postgresql+asyncpg://luna:***@db:5432/luna"
    assert settings["estimators"]["face_detector"]["model"] == "scrfd_500m_bnkps"
    plain = await client.get("/1/config", headers={"Accept": "text/plain"})
    assert plain.headers["content-type"].startswith("text/plain")
    assert yaml.safe_load(plain.text)["settings"]["limits"]["max_images_per_request"] == 32
    assert_luna_error(await client.get("/1/config", headers={"Accept": "image/png"}), 12023, 406)


def _methods(route) -> set[str]:
    methods = set(getattr(route, "methods", ()))
    return methods - {"HEAD"} if "GET" in methods else methods


async def test_spec_documents_exactly_the_routes_that_exist(client):
    response = await client.get("/1/docs/spec", headers={"Accept": "application/x-yaml"})
    assert response.status_code == 200
    spec = yaml.safe_load(response.text)
    documented = {(path, method.upper()) for path, item in spec["paths"].items() for method in item}
    served = {
        (route.path, method)
        for router in ROUTERS
        for route in router.routes
        if getattr(route, "include_in_schema", False)
        # Starlette adds HEAD to every GET route by itself; explicit HEAD routes are ours.
        for method in _methods(route)
    }
    assert documented == served
    assert ("/1/detector", "POST") in documented
    detector = spec["paths"]["/1/detector"]["post"]
    names = {p["name"] for p in detector["parameters"]}
    assert {
        "multiface_policy",
        "warped_image",
        "use_exif_info",
        "Luna-Account-Id",
        "Luna-Request-Id",
    } <= names
    assert "image/x-jpeg-base64" in detector["requestBody"]["content"]
    assert "422" not in detector["responses"]
    page = await client.get("/1/docs/spec", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    for path, _ in documented:
        assert path in page.text
    assert_luna_error(await client.get("/1/docs/spec", headers={"Accept": "image/png"}), 12023, 406)


async def test_dev_manual(client):
    response = await client.get("/1/docs/dev", follow_redirects=False)
    assert response.status_code == 302
    page = await client.get(response.headers["location"])
    assert page.status_code == 200 and "README.md" in page.text

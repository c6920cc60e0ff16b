"""The HTTP contract every route shares: who may change state, one form of each path, and
content negotiation."""

from __future__ import annotations

import base64

import httpx
import msgpack
import numpy as np
import pytest

from serve_app.app import create_app
from tests.api.helpers import assert_luna_error
from tests.conftest import new_account

JPEG = {"Content-Type": "image/jpeg"}


def auth(account: str) -> dict[str, str]:
    return {"Luna-Account-Id": account}


@pytest.fixture
async def bare(services):
    """A client that sends no ``Luna-Account-Id`` unless a request names one."""
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://luna") as http:
        yield http


async def _created(response: httpx.Response, key: str) -> str:
    assert response.status_code == 201, response.text
    body = response.json()
    return body[0][key] if isinstance(body, list) else body[key]


async def one_of_each(client: httpx.AsyncClient, account: str, photo: bytes) -> dict[str, str]:
    """The url of one object of every kind a DELETE route removes."""
    headers = auth(account)
    detected = await client.post("/1/detector", content=photo, headers={**JPEG, **headers})
    assert detected.status_code == 200, detected.text
    [sample] = detected.json()["images"][0]["detections"]["samples"]
    sample_id = sample["face"]["sample_id"]
    raw = base64.b64encode(np.ones(512, np.float32).tobytes()).decode()
    ids = {
        "handlers": await _created(
            await client.post("/1/handlers", json={}, headers=headers), "handler_id"
        ),
        "verifiers": await _created(
            await client.post("/1/verifiers", json={"policies": {}}, headers=headers),
            "verifier_id",
        ),
        "faces": await _created(
            await client.post(
                "/1/faces",
                json={"descriptors": [{"raw_descriptor": raw, "version": 1001}]},
                headers=headers,
            ),
            "face_id",
        ),
        "lists": await _created(await client.post("/1/lists", json={}, headers=headers), "list_id"),
        "attributes": await _created(
            await client.post("/1/extractor", json=[sample_id], headers=headers), "attribute_id"
        ),
        "samples/faces": sample_id,
    }
    return {kind: f"/1/{kind}/{object_id}" for kind, object_id in ids.items()}


async def test_state_changes_need_the_account_header(bare, photo_bytes):
    account = new_account()
    urls = await one_of_each(bare, account, photo_bytes("obama.jpg"))
    assert set(urls) == {"handlers", "verifiers", "faces", "lists", "attributes", "samples/faces"}
    for kind, url in urls.items():
        # Reads may name their account in the query; state changes may not.
        read = await bare.get(url, params={"account_id": account})
        assert read.status_code == 200, (kind, read.text)
        refused = await bare.delete(url, params={"account_id": account})
        assert_luna_error(refused, 11036, 403)
        assert (await bare.get(url, headers=auth(account))).status_code == 200, kind
    for kind, url in urls.items():
        assert (await bare.delete(url, headers=auth(account))).status_code == 204, kind
    handler = await _created(
        await bare.post("/1/handlers", json={}, headers=auth(account)), "handler_id"
    )
    assert_luna_error(
        await bare.put(f"/1/handlers/{handler}", json={}, params={"account_id": account}),
        11036,
        403,
    )


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_every_state_change_without_an_account_is_refused(bare, method):
    """Whatever the route and whatever its dependency, no header means 11036."""
    account = new_account()
    some_id = "00000000-0000-4000-8000-000000000000"
    paths = {
        "POST": ["/1/handlers", "/1/verifiers", "/1/faces", "/1/lists", "/1/extractor"],
        "PUT": [f"/1/handlers/{some_id}", f"/1/verifiers/{some_id}"],
        "PATCH": [f"/1/faces/{some_id}", f"/1/lists/{some_id}/faces"],
        "DELETE": [
            f"/1/{kind}/{some_id}"
            for kind in ("handlers", "verifiers", "faces", "lists", "attributes", "samples/faces")
        ],
    }[method]
    for path in paths:
        response = await bare.request(method, path, json={}, params={"account_id": account})
        assert_luna_error(response, 11036, 403)


async def test_a_trailing_slash_is_the_same_route(bare):
    account = new_account()
    headers = auth(account)
    created = await bare.post("/1/handlers/", json={}, headers=headers)
    assert created.status_code == 201, created.text
    handler_url = created.json()["url"]
    listed = await bare.get("/1/handlers/", headers=headers)
    assert listed.status_code == 200 and [h["handler_id"] for h in listed.json()] == [
        created.json()["handler_id"]
    ]
    got = await bare.get(f"{handler_url}/", headers=headers)
    assert got.status_code == 200 and got.json()["handler_id"] == created.json()["handler_id"]
    count = await bare.get("/1/handlers/count/", headers=headers)
    assert count.json() == {"handlers_count": 1}
    assert (await bare.put(f"{handler_url}/", json={}, headers=headers)).status_code == 204
    assert (await bare.get("/version/")).status_code == 200
    lists = await bare.post("/1/lists/", json={}, headers=headers)
    assert lists.status_code == 201, lists.text
    assert (await bare.delete(f"{handler_url}/", headers=headers)).status_code == 204
    # No redirects anywhere, and "/" stays what it is (no route).
    assert_luna_error(await bare.get("/"), 12013, 404)


async def test_an_unacceptable_accept_is_refused(bare):
    account = new_account()
    headers = auth(account)
    for accept in ("application/xml", "text/html", "image/*", "application/json;q=0"):
        response = await bare.get("/1/handlers", headers={**headers, "Accept": accept})
        detail = assert_luna_error(response, 12023, 406)["detail"]
        assert "application/json" in detail
        # A state change is refused before it runs, so nothing is created.
        response = await bare.post("/1/handlers", json={}, headers={**headers, "Accept": accept})
        assert_luna_error(response, 12023, 406)
    count = await bare.get("/1/handlers/count", headers=headers)
    assert count.json() == {"handlers_count": 0}


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        ("application/*", "application/json"),
        ("application/msgpack", "application/msgpack"),
        ("application/msgpack, application/json", "application/msgpack"),
        ("application/json;q=0.5, application/msgpack;q=0.9", "application/msgpack"),
        ("text/html, application/json;q=0.1", "application/json"),
        ("application/xml, */*;q=0.1", "application/json"),
    ],
)
async def test_acceptable_types_are_served(bare, accept, expected):
    account = new_account()
    headers = auth(account) if accept is None else {**auth(account), "Accept": accept}
    created = await bare.post("/1/lists", json={}, headers=headers)
    assert created.status_code == 201, created.text
    assert created.headers["content-type"] == expected
    body = msgpack.unpackb(created.content) if expected.endswith("msgpack") else created.json()
    assert set(body) == {"list_id", "url"}


async def test_routes_serving_other_types_keep_them(bare, photo_bytes):
    account = new_account()
    headers = auth(account)
    spec = await bare.get("/1/docs/spec")
    assert spec.status_code == 200 and spec.headers["content-type"] == "application/x-yaml"
    page = await bare.get("/1/docs/spec", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    config = await bare.get("/1/config", headers={"Accept": "text/plain"})
    assert config.status_code == 200 and config.headers["content-type"].startswith("text/plain")
    assert (await bare.get("/1/config")).headers["content-type"] == "application/json"
    detected = await bare.post(
        "/1/detector", content=photo_bytes("obama.jpg"), headers={**JPEG, **headers}
    )
    [sample] = detected.json()["images"][0]["detections"]["samples"]
    for accept in (None, "image/jpeg", "image/*", "*/*"):
        extra = {} if accept is None else {"Accept": accept}
        image = await bare.get(sample["face"]["url"], headers={**headers, **extra})
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"

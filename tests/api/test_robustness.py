"""Hostile or odd input gets LUNA errors, never a crash; races and failures leave no mess."""

from __future__ import annotations

import asyncio
import base64
import resource

import httpx
import numpy as np
from PIL import TiffImagePlugin

from serve_app.http.exif import _value
from serve_app.http.protocol import BodyLimitMiddleware
from serve_app.storage.handlers import HandlerStore
from serve_app.storage.lists import FaceStore
from tests.api.conftest import make_services
from tests.api.helpers import assert_luna_error, detector_images
from tests.conftest import new_account

JPEG = {"Content-Type": "image/jpeg"}


def auth(account: str) -> dict[str, str]:
    return {"Luna-Account-Id": account}


async def test_deeply_nested_json_is_not_json(client):
    deep = b"[" * 100_000
    for url in ("/1/detector", "/1/handlers", "/1/extractor"):
        response = await client.post(
            url, content=deep, headers={"Content-Type": "application/json"}
        )
        assert_luna_error(response, 12002, 400)


async def test_face_boxes_must_be_finite_and_few(client, photo_bytes):
    image = base64.b64encode(photo_bytes("obama.jpg")).decode()
    for box in ("NaN", "Infinity", "1e309"):
        # json.loads reads NaN, Infinity and overflowing numbers as non-finite floats.
        box_json = f'{{"x": {box}, "y": 1, "width": 10, "height": 10}}'
        body = f'{{"images": [{{"image": "{image}", "face_bounding_boxes": [{box_json}]}}]}}'
        response = await client.post(
            "/1/detector", content=body.encode(), headers={"Content-Type": "application/json"}
        )
        assert "face_bounding_boxes.0.x" in assert_luna_error(response, 12022, 400)["detail"]
    boxes = [{"x": 1, "y": 1, "width": 10, "height": 10}] * 17
    response = await client.post(
        "/1/detector", json={"images": [{"image": image, "face_bounding_boxes": boxes}]}
    )
    assert "face_bounding_boxes" in assert_luna_error(response, 12022, 400)["detail"]


def test_exif_values_that_json_cannot_hold_are_left_out():
    assert _value(float("inf")) is None
    assert _value(float("nan")) is None
    assert _value(TiffImagePlugin.IFDRational(1, 0)) is None
    assert _value(TiffImagePlugin.IFDRational(1, 2)) == 0.5


async def test_malformed_urls_fail_alone(make_client, models_dir):
    client = make_client(make_services(models_dir, image_urls={"enabled": True, "timeout_s": 2}))
    body = {
        "urls": [
            {"url": "http://[::1"},
            {"url": "ftp://example.org/x.jpg"},
            {"url": "http://127.0.0.1:9/x.jpg"},
        ]
    }
    images = detector_images(await client.post("/1/detector", json=body))
    assert [i["status"] for i in images] == [0, 0, 0]
    assert {i["error"]["error_code"] for i in images} == {12031}


async def test_empty_multipart_is_an_empty_request(client):
    body = b"--xyz--\r\n"
    response = await client.post(
        "/1/detector", content=body, headers={"Content-Type": "multipart/form-data; boundary=xyz"}
    )
    assert_luna_error(response, 12030, 400)


async def test_body_limit_holds_for_streamed_bodies(make_client, models_dir):
    client = make_client(make_services(models_dir, limits={"max_body_bytes": 100_000}))

    async def chunks():
        for _ in range(30):
            yield b"\xff" * 10_000

    response = await client.post("/1/detector", content=chunks(), headers=JPEG)
    assert "content-length" not in response.request.headers
    assert_luna_error(response, 12031, 413)


def rss_bytes() -> int:
    """This process's resident memory now (not its peak, which never comes down)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


class Upload:
    """A chunked upload of ``total`` bytes that counts how much of it was read."""

    CHUNK = 64 * 1024

    def __init__(self, total: int) -> None:
        self.total = total
        self.read = 0

    async def __aiter__(self):
        chunk = b"\xff" * self.CHUNK
        while self.read < self.total:
            self.read += len(chunk)
            yield chunk


LIMIT = 4 * 1024 * 1024
OVERSIZED = 64 * 1024 * 1024


async def test_chunked_oversized_uploads_stop_at_the_limit_and_keep_memory_flat(
    make_client, models_dir
):
    client = make_client(make_services(models_dir, limits={"max_body_bytes": LIMIT}))
    for url, content_type in (("/1/detector", "image/jpeg"), ("/1/handlers", "application/json")):
        await client.post(url, content=b"{}", headers={"Content-Type": content_type})
    before = rss_bytes()
    for url, content_type in [("/1/detector", "image/jpeg"), ("/1/sdk", "image/png")] * 5:
        upload = Upload(OVERSIZED)
        response = await client.post(url, content=upload, headers={"Content-Type": content_type})
        assert "content-length" not in response.request.headers
        assert_luna_error(response, 12031, 413)
        assert upload.read <= LIMIT + Upload.CHUNK, (url, upload.read)
    # Ten 64 MiB uploads: reading them whole would leave far more than this behind.
    assert rss_bytes() - before < 3 * LIMIT, (before, rss_bytes())


async def test_oversized_content_length_is_refused_before_reading(make_client, models_dir):
    client = make_client(make_services(models_dir, limits={"max_body_bytes": LIMIT}))
    for url in ("/1/detector", "/1/sdk"):
        upload = Upload(OVERSIZED)
        headers = {"Content-Type": "image/jpeg", "Content-Length": str(OVERSIZED)}
        response = await client.post(url, content=upload, headers=headers)
        assert_luna_error(response, 12031, 413)
        assert upload.read == 0


async def _eager_reader(scope, receive, send) -> None:
    """Reads the whole body before answering, as Ray Serve's HTTP proxy does."""
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


async def test_body_limit_middleware_stops_a_reader_of_whole_bodies():
    app = BodyLimitMiddleware(_eager_reader, max_bytes=LIMIT)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p") as c:
        before = rss_bytes()
        for _ in range(10):
            upload = Upload(OVERSIZED)
            assert_luna_error(await c.post("/1/sdk", content=upload), 12031, 413)
            assert upload.read <= LIMIT + Upload.CHUNK
        assert rss_bytes() - before < 3 * LIMIT
        declared = Upload(OVERSIZED)
        response = await c.post("/1/sdk", content=declared, headers={"Content-Length": "9" * 12})
        assert_luna_error(response, 12031, 413)
        assert declared.read == 0
        # Bodies within the limit pass whole, declared or streamed.
        assert (await c.post("/x", content=Upload(LIMIT))).text == str(LIMIT)
        assert (await c.post("/x", content=b"abc")).text == "3"


def test_proxy_middlewares_take_the_limit_from_the_environment(monkeypatch):
    from serve_app.http.protocol import proxy_middlewares

    monkeypatch.setenv("LUNA_MAX_BODY_BYTES", "12345")
    [limit] = [m for m in proxy_middlewares() if m.cls is BodyLimitMiddleware]
    assert limit.kwargs == {"max_bytes": 12345}


async def test_multipart_without_boundary_is_a_bad_content_type(client, photo_bytes):
    for content_type in ("multipart/form-data", "multipart/form-data; charset=utf-8"):
        response = await client.post(
            "/1/detector", content=photo_bytes("obama.jpg"), headers={"Content-Type": content_type}
        )
        assert_luna_error(response, 12017, 400)


async def test_page_numbers_are_bounded(client):
    assert_luna_error(await client.get("/1/handlers?page=99999999999999999999"), 12012, 400)
    assert_luna_error(await client.get("/1/faces?page=9999999999999999&page_size=1000"), 12012, 400)


async def test_ids_are_case_insensitive(db_client):
    account = new_account()
    created = await db_client.post("/1/handlers", json={}, headers=auth(account))
    handler_id = created.json()["handler_id"]
    response = await db_client.get(f"/1/handlers/{handler_id.upper()}", headers=auth(account))
    assert response.status_code == 200 and response.json()["handler_id"] == handler_id


async def test_handlers_may_not_match_in_other_accounts(db_client):
    account = new_account()
    policies = {"match_policy": [{"label": "x", "candidates": {"account_id": new_account()}}]}
    response = await db_client.post(
        "/1/handlers", json={"policies": policies}, headers=auth(account)
    )
    assert (
        "policies.match_policy.0.candidates.account_id"
        in assert_luna_error(response, 12022, 400)["detail"]
    )
    own = {"match_policy": [{"label": "x", "candidates": {"account_id": account}}]}
    assert (
        await db_client.post("/1/handlers", json={"policies": own}, headers=auth(account))
    ).status_code == 201


async def test_descriptors_must_fit_their_model(db_client):
    account = new_account()
    short = base64.b64encode(np.ones(3, np.float32).tobytes()).decode()
    response = await db_client.post(
        "/1/faces",
        json={"descriptors": [{"raw_descriptor": short, "version": 1001}]},
        headers=auth(account),
    )
    assert "1001" in assert_luna_error(response, 12031, 400)["detail"]
    garbled = base64.b64encode(np.ones(512, np.float32).tobytes()).decode()[:-8] + "!!!!!!!!"
    response = await db_client.post(
        "/1/faces",
        json={"descriptors": [{"raw_descriptor": garbled, "version": 1001}]},
        headers=auth(account),
    )
    assert_luna_error(response, 18001, 400)


async def test_concurrent_attaches_of_one_face_all_succeed(db_client):
    account = new_account()
    raw = base64.b64encode(np.ones(512, np.float32).tobytes()).decode()
    face = (
        await db_client.post(
            "/1/faces",
            json={"descriptors": [{"raw_descriptor": raw, "version": 1001}]},
            headers=auth(account),
        )
    ).json()
    list_id = (await db_client.post("/1/lists", json={}, headers=auth(account))).json()["list_id"]
    body = {"action": "attach", "face_ids": [face["face_id"]]}
    responses = await asyncio.gather(
        *(
            db_client.patch(f"/1/lists/{list_id}/faces", json=body, headers=auth(account))
            for _ in range(10)
        )
    )
    assert {r.status_code for r in responses} == {204}
    assert (await db_client.get(f"/1/lists/{list_id}", headers=auth(account))).json()[
        "faces_count"
    ] == 1


async def test_removed_samples_are_gone(db_client, photo_bytes):
    account = new_account()
    response = await db_client.post(
        "/1/detector", content=photo_bytes("obama.jpg"), headers={**JPEG, **auth(account)}
    )
    [sample] = response.json()["images"][0]["detections"]["samples"]
    url = sample["face"]["url"]
    assert (await db_client.delete(url, headers=auth(account))).status_code == 204
    assert_luna_error(await db_client.get(url, headers=auth(account)), 13003, 404)
    assert_luna_error(
        await db_client.post(
            "/1/extractor", json=[sample["face"]["sample_id"]], headers=auth(account)
        ),
        13003,
        404,
    )
    assert_luna_error(await db_client.delete(url, headers=auth(account)), 13003, 404)


async def test_a_failed_transaction_leaves_nothing_behind(backend_services):
    account = new_account()
    storage = await backend_services.storage.ready()
    try:
        async with storage.database.transaction() as session:
            handler = await HandlerStore(session, account).create("doomed", {}, False)
            face = await FaceStore(session, account).create(
                {1001: (b"\x00" * 2048, None)}, None, [], "", ""
            )
            raise RuntimeError("the request fails after its writes")
    except RuntimeError:
        pass
    async with storage.database.transaction() as session:
        assert await HandlerStore(session, account).get(handler.handler_id) is None
        assert await FaceStore(session, account).get(face.face_id) is None
        assert await HandlerStore(session, account).count(None, None) == 0

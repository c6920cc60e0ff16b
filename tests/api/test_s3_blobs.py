"""Samples and source images in an S3 bucket (serve_app.storage.s3_blobs), against a real
S3-compatible server process the tests start: the store alone, then through the routes
(found, missing, other accounts), then an outage of the store."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from serve_app.settings import BlobSettings, Settings
from serve_app.storage.blobs import BlobStoreUnavailable
from serve_app.storage.s3_blobs import S3BlobStore
from serve_app.storage.tables import Sample
from tests.api.conftest import make_services
from tests.api.helpers import assert_luna_error
from tests.api.test_handler_events import create, events_of
from tests.conftest import new_account
from tests.ports import free_port
from tests.s3server import S3Server, blob_args, start_s3_server

JPEG = {"Content-Type": "image/jpeg"}
MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def s3_server():
    server = start_s3_server()
    yield server
    server.stop()


def new_bucket() -> str:
    return f"luna-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def s3_client(s3_server, models_dir, tmp_path, make_client):
    """A client of an app whose blobs are in a new bucket of the S3 server (SQLite rows)."""
    services = make_services(models_dir, tmp_path, blobs=blob_args(s3_server, new_bucket()))
    yield make_client(services), services
    await services.storage.close()


def auth(account: str) -> dict[str, str]:
    return {"Luna-Account-Id": account}


async def test_the_store_puts_gets_and_deletes_by_account(s3_server):
    store = S3BlobStore(BlobSettings.model_validate(blob_args(s3_server, new_bucket())))
    first, second = new_account(), new_account()
    await store.put("faces", first, "a1", b"one")
    await store.put("faces", first, "a1", b"uno")  # replaced whole
    assert await store.get("faces", first, "a1") == b"uno"
    # The account is part of the key: the same id in another account (or kind) is not there.
    assert await store.get("faces", second, "a1") is None
    assert await store.get("images", first, "a1") is None
    assert store.key("faces", first, "a1") == f"faces/{first}/a1"
    await store.delete("faces", first, "a1")
    assert await store.get("faces", first, "a1") is None
    await store.delete("faces", first, "a1")  # deleting a missing blob is no error
    for bad in ("", "../x", ".hidden", "a/b"):
        with pytest.raises(ValueError):
            await store.put("faces", first, bad, b"x")
    await store.close()


async def test_a_prefix_keeps_services_apart_in_one_bucket(s3_server):
    bucket = new_bucket()
    one = S3BlobStore(BlobSettings.model_validate(blob_args(s3_server, bucket, prefix="one/")))
    two = S3BlobStore(BlobSettings.model_validate(blob_args(s3_server, bucket, prefix="two/")))
    account = new_account()
    await one.put("faces", account, "same", b"1")
    assert await two.get("faces", account, "same") is None
    assert await one.get("faces", account, "same") == b"1"
    await one.close()
    await two.close()


async def test_a_missing_bucket_is_a_clear_error_unless_it_may_be_created(s3_server):
    settings = blob_args(s3_server, new_bucket(), create_bucket=False)
    store = S3BlobStore(BlobSettings.model_validate(settings))
    with pytest.raises(BlobStoreUnavailable) as error:
        await store.get("faces", new_account(), "x")
    assert error.value.status == 503 and "does not exist" in error.value.body["detail"]
    await store.close()


async def test_samples_are_served_from_the_bucket_to_their_account_only(s3_client, photo_bytes):
    client, _ = s3_client
    account, other = new_account(), new_account()
    response = await client.post(
        "/1/detector", content=photo_bytes("group_six.jpg"), headers={**JPEG, **auth(account)}
    )
    assert response.status_code == 200, response.text
    samples = [
        s["face"]["sample_id"] for s in response.json()["images"][0]["detections"]["samples"]
    ]
    assert len(samples) == 6
    for sample in samples:
        got = await client.get(f"/1/samples/faces/{sample}", headers=auth(account))
        assert got.status_code == 200 and got.content.startswith(b"\xff\xd8")
        assert_luna_error(
            await client.get(f"/1/samples/faces/{sample}", headers=auth(other)), 13003, 404
        )
    assert_luna_error(
        await client.get(f"/1/samples/faces/{MISSING}", headers=auth(account)), 13003, 404
    )
    # Samples feed other requests straight from the bucket.
    extracted = await client.post(
        "/1/extractor?extract_basic_attributes=1", json=samples[:2], headers=auth(account)
    )
    assert extracted.status_code == 201, extracted.text
    removed = await client.delete(f"/1/samples/faces/{samples[0]}", headers=auth(account))
    assert removed.status_code == 204
    assert_luna_error(
        await client.get(f"/1/samples/faces/{samples[0]}", headers=auth(account)), 13003, 404
    )


async def test_source_images_are_kept_in_the_bucket(s3_client, photo_bytes):
    client, _ = s3_client
    policies = {"storage_policy": {"image_origin_policy": {"store_image": 1}}}
    handler = await create(client, "/1/handlers", {"policies": policies})
    photo = photo_bytes("obama.jpg")
    [event] = (await events_of(client, handler, photo))["events"]
    origin = event["detections"][0]["image_origin"]
    kept = await client.get(origin)
    assert kept.status_code == 200 and kept.content == photo
    assert_luna_error(await client.get(origin, headers=auth(new_account())), 13001, 404)
    assert_luna_error(await client.get(f"/1/images/{MISSING}"), 13001, 404)


async def sample_rows(services, account: str) -> int:
    async with services.transaction() as session:
        query = select(func.count()).select_from(Sample).where(Sample.account_id == account)
        return (await session.execute(query)).scalar_one()


async def test_a_store_outage_answers_a_luna_error_and_writes_no_rows(
    models_dir, tmp_path, make_client, photo_bytes
):
    server = S3Server(free_port()).start()
    bucket = new_bucket()
    # One try per call, short timeouts: the outage answers at once.
    blobs = blob_args(server, bucket, max_attempts=1, connect_timeout_s=1, read_timeout_s=2)
    services = make_services(models_dir, tmp_path, blobs=blobs)
    client = make_client(services)
    account = new_account()
    photo = photo_bytes("obama.jpg")
    try:
        stored = await client.post("/1/detector", content=photo, headers={**JPEG, **auth(account)})
        assert stored.status_code == 200, stored.text
        [sample] = [
            s["face"]["sample_id"] for s in stored.json()["images"][0]["detections"]["samples"]
        ]
        assert await sample_rows(services, account) == 1

        server.stop()
        refused = await client.post("/1/detector", content=photo, headers={**JPEG, **auth(account)})
        body = assert_luna_error(refused, 11, 503)
        assert body["detail"].startswith("Server connection error: blob store: storing")
        # The images are written before the rows commit: the failure left no row behind.
        assert await sample_rows(services, account) == 1
        # A sample that exists is not reported missing while its image cannot be read.
        read = await client.get(f"/1/samples/faces/{sample}", headers=auth(account))
        assert_luna_error(read, 11, 503)
        # The row decides: removing it succeeds, the image is left behind (and logged).
        removed = await client.delete(f"/1/samples/faces/{sample}", headers=auth(account))
        assert removed.status_code == 204
        assert await sample_rows(services, account) == 0

        # The store comes back (empty: moto keeps objects in memory): the service works
        # again with no restart.
        server.start()
        await S3BlobStore(BlobSettings.model_validate(blobs))._ready()  # makes the bucket
        again = await client.post("/1/detector", content=photo, headers={**JPEG, **auth(account)})
        assert again.status_code == 200, again.text
        assert await sample_rows(services, account) == 1
    finally:
        server.stop()
        await services.storage.close()


def test_settings_take_s3_credentials_from_the_environment_and_hide_them():
    environ = {
        "LUNA_BLOBS_BACKEND": "s3",
        "LUNA_S3_BUCKET": "samples",
        "LUNA_S3_ENDPOINT_URL": "http://minio:9000",
        "LUNA_S3_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "LUNA_S3_SECRET_ACCESS_KEY": "very-secret",
    }
    settings = Settings.from_args({}, environ=environ)
    assert settings.blobs.backend == "s3" and settings.blobs.bucket == "samples"
    assert settings.blobs.secret_access_key == "very-secret"
    shown = settings.public_view()["blobs"]
    assert shown["secret_access_key"] == "***" and shown["access_key_id"] == "***"
    assert shown["endpoint_url"] == "http://minio:9000"
    with pytest.raises(ValueError, match="bucket"):
        Settings.from_args({"blobs": {"backend": "s3"}}, environ={})
    with pytest.raises(ValueError, match="both"):
        Settings.from_args(
            {"blobs": {"backend": "s3", "bucket": "b", "access_key_id": "k"}}, environ={}
        )

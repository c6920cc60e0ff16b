"""Two ingress replicas sharing their state through PostgreSQL (rows, event notifications) and
an S3 bucket (samples, source images), on the real Ray Serve app: nothing is lost when the
ingress replica that stored a sample or made an event is gone.

The service runs serve_config.yaml with ``Ingress`` at two replicas, only the face detector
(the lightest estimator that stores samples), its blobs on an S3 server this test starts
(moto's, in a process of its own), PostgreSQL from ``LUNA_TEST_POSTGRES_URL``. Ray's proxy
spreads requests and WebSocket connections over both replicas, so events made on one reach
subscribers connected to the other only through the fan-out. One ingress replica is then
killed (SIGKILL of its process, as a node loss would) and everything stored is read back.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time

import boto3
import httpx
import pytest
import websockets
import yaml

from bench.service_processes import replica_pids, serve_run_pid
from tests.conftest import new_account
from tests.e2e.conftest import ROOT, _serve
from tests.s3server import ACCESS_KEY_ID, SECRET_ACCESS_KEY, blob_args, start_s3_server

pytestmark = pytest.mark.e2e
JPEG = {"Content-Type": "image/jpeg"}
BUCKET = "luna-e2e-shared"
SUBSCRIBERS = 4
PHOTOS = ("obama.jpg", "obama2.jpg", "biden.jpg", "group_six.jpg")


@pytest.fixture(scope="module")
def two_ingress_service(deployments):
    """(url, run dir, S3 server) of the two-ingress service; stopped after this module."""
    database_url = os.environ.get("LUNA_TEST_POSTGRES_URL")
    if not database_url:
        if os.environ.get("LUNA_REQUIRE_POSTGRES") == "1":
            pytest.fail("LUNA_REQUIRE_POSTGRES=1 but no LUNA_TEST_POSTGRES_URL", pytrace=False)
        pytest.skip("no PostgreSQL: scripts/run-tests.sh starts one (scripts/postgres.sh)")
    s3 = start_s3_server()

    def start(run_dir):
        config = yaml.safe_load((ROOT / "serve_config.yaml").read_text())
        [app] = config["applications"]
        args = app["args"]
        args["estimators"] = {"face_detector": args["estimators"]["face_detector"]}
        blobs = blob_args(s3, BUCKET)
        # The credentials come from the environment, as they should in production.
        del blobs["access_key_id"], blobs["secret_access_key"]
        args["blobs"] = blobs
        app["deployments"] = [
            d for d in app["deployments"] if d["name"] in ("Ingress", "face_detector")
        ]
        next(d for d in app["deployments"] if d["name"] == "Ingress")["num_replicas"] = 2
        path = run_dir / "serve_config.two_ingress.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        env = {
            "LUNA_DATABASE_URL": database_url,
            "LUNA_S3_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "LUNA_S3_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        }
        served = _serve(run_dir, path, deployments.models_dir, env)
        try:
            yield next(served), run_dir
        finally:
            served.close()

    try:
        url, run_dir = deployments.get("two_ingress", start)
        yield url, run_dir, s3
    finally:
        deployments.stop()
        s3.stop()


async def retried(call, attempts: int = 30):
    """``call()``'s response, tried again while Ray's proxy answers 5xx: a request that was
    sent to the killed replica, before Serve knows it is gone, fails and may be sent again."""
    for _ in range(attempts):
        response = await call()
        if response.status_code < 500:
            return response
        await asyncio.sleep(1)
    return response


class Subscribers:
    """WebSocket subscribers of one account, each collecting the event ids it receives."""

    def __init__(self, url: str, account: str) -> None:
        self.url = url.replace("http", "ws", 1) + "/1/ws"
        self.account = account
        self.sockets: list = []
        self.received: list[list[str]] = []

    async def open(self, count: int) -> None:
        self.sockets = [
            await websockets.connect(self.url, additional_headers={"Luna-Account-Id": self.account})
            for _ in range(count)
        ]
        self.received = [[] for _ in self.sockets]

    async def expect(self, event_ids: list[str], timeout_s: float = 30) -> None:
        """Every subscriber receives exactly these events (in any order)."""
        for socket, got in zip(self.sockets, self.received, strict=True):
            while len(got) < len(event_ids):
                message = await asyncio.wait_for(socket.recv(), timeout_s)
                got.append(json.loads(message)["event_id"])
            assert sorted(got) == sorted(event_ids)
            got.clear()

    async def close(self) -> None:
        for socket in self.sockets:
            await socket.close()


async def make_events(client, handler_id: str, photo_bytes, rounds: int) -> tuple[list, list]:
    """Post the photos ``rounds`` times; the events made and their sample ids and images."""
    events = []
    for _ in range(rounds):
        for name in PHOTOS:
            response = await client.post(
                f"/1/handlers/{handler_id}/events", content=photo_bytes(name), headers=JPEG
            )
            assert response.status_code == 201, response.text
            events.extend((name, event) for event in response.json()["events"])
    return [e for _, e in events], [
        (name, e["detections"][0]["samples"]["face"]["sample_id"], e["detections"][0])
        for name, e in events
    ]


async def test_nothing_is_lost_when_an_ingress_replica_is_gone(two_ingress_service, photo_bytes):
    url, run_dir, s3 = two_ingress_service
    root = serve_run_pid(str(run_dir))
    # The service answers once one replica is up; the second may still be starting.
    deadline = time.monotonic() + 120
    while len(replica_pids(root, "Ingress")) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(1)
    assert len(replica_pids(root, "Ingress")) == 2
    account = new_account()
    async with httpx.AsyncClient(
        base_url=url, headers={"Luna-Account-Id": account}, timeout=120
    ) as client:
        shown = (await client.get("/1/config")).json()["settings"]["blobs"]
        assert shown["backend"] == "s3" and shown["secret_access_key"] == "***"
        assert SECRET_ACCESS_KEY not in json.dumps(shown)
        policies = {
            "detect_policy": {"multiface_policy": 1},
            "storage_policy": {
                "image_origin_policy": {"store_image": 1},
                "event_policy": {"store_event": 1, "wait_saving": 1},
                "notification_policy": {"send_notification": 1},
            },
        }
        response = await client.post("/1/handlers", json={"policies": policies})
        assert response.status_code == 201, response.text
        handler_id = response.json()["handler_id"]

        # Subscribers spread over both replicas; events made on both reach every one.
        subscribers = Subscribers(url, account)
        await subscribers.open(SUBSCRIBERS)
        events, samples = await make_events(client, handler_id, photo_bytes, rounds=2)
        await subscribers.expect([e["event_id"] for e in events])
        await subscribers.close()

        # The samples and images are in the bucket, not in the replicas' data directory.
        bucket = boto3.client(
            "s3",
            endpoint_url=s3.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
        )
        keys = {o["Key"] for o in bucket.list_objects_v2(Bucket=BUCKET).get("Contents", [])}
        for _, sample_id, _ in samples:
            assert f"faces/{account}/{sample_id}" in keys
        assert not (run_dir / "data" / "blobs").exists()

        killed = replica_pids(root, "Ingress")[0]
        os.kill(killed, signal.SIGKILL)
        gone_at = time.monotonic()

        # Everything either replica stored reads back through the service.
        for _, sample_id, _ in samples:
            got = await retried(lambda s=sample_id: client.get(f"/1/samples/faces/{s}"))
            assert got.status_code == 200 and got.content.startswith(b"\xff\xd8"), got.text
        for name, _, detection in samples:
            origin = detection["image_origin"]
            got = await retried(lambda o=origin: client.get(o))
            assert got.status_code == 200 and got.content == photo_bytes(name)
        listed = await retried(lambda: client.get("/1/events", params={"page_size": 100}))
        stored = {e["event_id"] for e in listed.json()["events"]}
        assert stored == {e["event_id"] for e in events}

        # Subscribers of the replica that is left (and of its replacement, once Serve starts
        # one) still receive every event, whichever replica makes it.
        while len(replica_pids(root, "Ingress")) < 2 and time.monotonic() - gone_at < 120:
            await asyncio.sleep(1)
        assert killed not in replica_pids(root, "Ingress")
        subscribers = Subscribers(url, account)
        await subscribers.open(SUBSCRIBERS)
        more, _ = await make_events(client, handler_id, photo_bytes, rounds=1)
        await subscribers.expect([e["event_id"] for e in more])
        await subscribers.close()

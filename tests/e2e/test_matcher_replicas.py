"""A matcher shard with two replicas: both see every write, and killing one under load
fails no search (the ingress sends a search that met a dead replica again)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time

import httpx
import pytest
import yaml

from tests.conftest import ACCOUNT
from tests.e2e.conftest import ROOT, _serve

pytestmark = pytest.mark.e2e
JPEG = {"Content-Type": "image/jpeg"}
REPLICA = "ServeReplica:luna:matcher_shard_0"


@pytest.fixture
def replicated_service(deployments):
    """The laptop profile with two replicas of the matcher shard."""

    def start(run_dir):
        config = yaml.safe_load((ROOT / "serve_config.yaml").read_text())
        [app] = config["applications"]
        shard = next(d for d in app["deployments"] if d["name"] == "matcher_shard_0")
        shard["num_replicas"] = 2
        path = run_dir / "serve_config.replicas.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        served = _serve(run_dir, path, deployments.models_dir, {})
        try:
            yield next(served)
        finally:
            served.close()

    return deployments.get("replicas", start)


def replica_pids() -> list[int]:
    found = subprocess.run(["pgrep", "-f", REPLICA], capture_output=True, text=True).stdout
    return [int(p) for p in found.split()]


async def identify(client, face_id: str, list_id: str) -> httpx.Response:
    body = {"references": [{"type": "face_id", "id": face_id}],
            "candidates": [{"filters": {"list_id": list_id}, "limit": 3}]}  # fmt: skip
    return await client.post("/1/matcher/faces", json=body)


def best(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return response.json()[0]["matches"][0]["result"][0]["face"]["face_id"]


async def test_two_replicas_see_every_write_and_survive_a_killed_one(
    replicated_service, photo_bytes
):
    async with httpx.AsyncClient(
        base_url=replicated_service, headers={"Luna-Account-Id": ACCOUNT}, timeout=120
    ) as client:
        assert len(replica_pids()) == 2
        list_id = (await client.post("/1/lists", json={})).json()["list_id"]
        register = (await client.post("/1/handlers", json={"policies": {
            "extract_policy": {"extract_face_descriptor": 1},
            "storage_policy": {"face_policy": {"store_face": 1,
                                               "link_to_lists_policy": [{"list_id": list_id}]}},
        }})).json()["handler_id"]  # fmt: skip

        async def store(name: str) -> list[str]:
            response = await client.post(
                f"/1/handlers/{register}/events", content=photo_bytes(name), headers=JPEG
            )
            assert response.status_code == 201, response.text
            return [e["face"]["face_id"] for e in response.json()["events"]]

        faces = []
        for name in ("obama.jpg", "biden.jpg", "group_six.jpg"):
            stored = await store(name)
            # Whichever replica answers, a face just stored finds itself first.
            for face_id in stored:
                assert best(await identify(client, face_id, list_id)) == face_id
            faces += stored
        # Both replicas answer the same: searches spread over them all find every face.
        answers = await asyncio.gather(*(identify(client, f, list_id) for f in faces * 4))
        assert [best(a) for a in answers] == faces * 4

        # Under load, one replica is killed: no search fails.
        outcomes: list[int] = []
        stop = time.monotonic() + 12

        async def searcher(i: int) -> None:
            while time.monotonic() < stop:
                response = await identify(client, faces[i % len(faces)], list_id)
                outcomes.append(response.status_code)

        async def kill_one() -> None:
            await asyncio.sleep(3)
            os.kill(replica_pids()[0], signal.SIGKILL)

        await asyncio.gather(kill_one(), *(searcher(i) for i in range(6)))
        failed = [s for s in outcomes if s != 200]
        assert len(outcomes) > 50 and failed == [], f"{len(failed)} of {len(outcomes)} failed"

        # Writes go on, and the replica Serve starts again catches up from the database.
        later = await store("obama2.jpg")
        assert best(await identify(client, later[0], list_id)) == later[0]
        deadline = time.monotonic() + 120
        while len(replica_pids()) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(1)
        assert len(replica_pids()) == 2
        answers = await asyncio.gather(*(identify(client, f, list_id) for f in later * 10))
        assert all(best(a) == later[0] for a in answers)

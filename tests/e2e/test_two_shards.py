"""The application as a cluster runs it: PostgreSQL, two matcher shards, authentication on.

Two shards must answer as one: the matcher routes of the two-shard service are checked
against a one-shard matcher built from the same database in this process. Verification
keeps the order of the ids it is given. Every request is authenticated with an account's
bearer token.
"""

from __future__ import annotations

import base64

import httpx
import numpy as np
import pytest

from models import descriptor_format
from models.matching import CandidateFilter
from models.provision import app_args
from serve_app.estimators import build_estimator
from serve_app.matching import MatcherSettings, local_matcher
from serve_app.settings import Settings
from serve_app.storage.db import Database
from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e
JPEG = {"Content-Type": "image/jpeg"}
PNG = {"Content-Type": "image/png"}
CONFIG = ROOT / "serve_config.yaml"


def created(response: httpx.Response) -> str:
    assert response.status_code == 201, response.text
    return next(v for k, v in response.json().items() if k.endswith("_id"))


async def descriptor_of(client: httpx.AsyncClient, photo: bytes, headers=JPEG) -> list[str]:
    """SDK descriptors (base64) of every face of a photo, left to right."""
    response = await client.post(
        "/1/sdk?detect_face=1&estimate_face_descriptor=1", content=photo, headers=headers
    )
    assert response.status_code == 200, response.text
    faces = response.json()["images_estimations"][0]["estimations"]
    faces.sort(key=lambda f: f["face"]["detection"]["rect"]["x"])
    return [f["face"]["attributes"]["descriptor"]["sdk_descriptor"] for f in faces]


async def test_two_shards_answer_as_one_and_verification_keeps_order(scaled_service, photo_bytes):
    url, database_url, admin = scaled_service
    async with httpx.AsyncClient(base_url=url, timeout=120) as anonymous:
        refused = await anonymous.get("/1/handlers")
        assert refused.status_code == 401 and refused.json()["error_code"] == 11065
        account = await anonymous.post(
            "/1/accounts",
            json={"login": "camera@example.org", "password": "a camera password"},
            auth=admin,
        )
        account_id = created(account)
        token = await anonymous.post(
            "/1/accounts/tokens", json={}, auth=("camera@example.org", "a camera password")
        )
        assert token.status_code == 201, token.text
    bearer = {"Authorization": f"Bearer {token.json()['token']}"}
    async with httpx.AsyncClient(base_url=url, timeout=120, headers=bearer) as client:
        other = await client.get("/1/handlers", headers={"Luna-Account-Id": admin_account()})
        assert other.status_code == 403

        list_id = created(await client.post("/1/lists", json={"user_data": "staff"}))
        policies = {
            "extract_policy": {"extract_face_descriptor": 1},
            "storage_policy": {
                "face_policy": {"store_face": 1, "link_to_lists_policy": [{"list_id": list_id}]}
            },
        }
        register = created(await client.post("/1/handlers", json={"policies": policies}))
        faces: dict[str, str] = {}
        for name, kind in (("group_six.jpg", JPEG), ("obama.jpg", JPEG), ("biden.jpg", JPEG),
                           ("astronaut.png", PNG)):  # fmt: skip
            answer = await client.post(
                f"/1/handlers/{register}/events", content=photo_bytes(name), headers=kind
            )
            assert answer.status_code == 201, answer.text
            for i, event in enumerate(answer.json()["events"]):
                faces[f"{name}:{i}"] = event["face"]["face_id"]
        assert len(faces) == 9

        queries = await descriptor_of(client, photo_bytes("obama2.jpg"))
        queries += await descriptor_of(client, photo_bytes("group_six.jpg"))
        body = {
            "references": [
                {"type": "descriptor", "id": f"q{i}", "data": q} for i, q in enumerate(queries)
            ],
            "candidates": [{"filters": {"list_id": list_id}, "limit": 5}],
        }
        response = await client.post("/1/matcher/faces", json=body)
        assert response.status_code == 200, response.text
        served = [
            [(m["face"]["face_id"], m["similarity"]) for m in entry["matches"][0]["result"]]
            for entry in response.json()
        ]
        assert served[0][0][0] == faces["obama.jpg:0"] and served[0][0][1] > 0.9

        expected = await one_shard_answer(database_url, account_id, queries, list_id)
        assert [[f for f, _ in row] for row in served] == [[f for f, _ in r] for r in expected]
        for row, want in zip(served, expected, strict=True):
            assert np.allclose([s for _, s in row], [s for _, s in want], atol=1e-5)

        verifier = created(await client.post("/1/verifiers", json={"description": "door"}))
        ids = f"{faces['biden.jpg:0']},{faces['obama.jpg:0']}"
        verified = await client.post(
            f"/1/verifiers/{verifier}/verifications?face_ids={ids}",
            content=photo_bytes("obama2.jpg"),
            headers=JPEG,
        )
        assert verified.status_code == 200, verified.text
        [detection] = verified.json()["images"][0]["detections"]["face_detections"]
        checks = detection["verifications"]
        assert [c["face"]["face_id"] for c in checks] == ids.split(",")
        assert [c["status"] for c in checks] == [False, True]

        raw = {
            "references": [{"id": "selfie", "type": "sdk_descriptor", "data": queries[0]}],
            "candidates": [
                {"id": "same", "type": "sdk_descriptor", "data": (await descriptor_of(client, photo_bytes("obama3.jpg")))[0]},
                {"id": "other", "type": "sdk_descriptor", "data": (await descriptor_of(client, photo_bytes("biden.jpg")))[0]},
            ],
        }  # fmt: skip
        answer = await client.post(f"/1/verifiers/{verifier}/raw", json=raw)
        assert answer.status_code == 200, answer.text
        [reference] = answer.json()["matches"]
        assert [(m["candidate_id"], m["status"]) for m in reference["matches"]] == [
            ("same", True), ("other", False)]  # fmt: skip


def admin_account() -> str:
    """Some other account than the token's."""
    return "00000000-0000-4000-8000-000000000001"


async def one_shard_answer(
    database_url: str, account_id: str, queries: list[str], list_id: str
) -> list[list[tuple[str, float]]]:
    """The same search by a one-shard matcher over the same database, in this process."""
    vectors, versions = zip(
        *(descriptor_format.unpack(base64.b64decode(q)) for q in queries), strict=True
    )
    version = versions[0]
    database = Database(database_url)
    try:
        matcher = local_matcher(database, MatcherSettings(shards=1), version, len(vectors[0]))
        await matcher.start()
        found = await matcher.search(
            account_id, np.stack(vectors), version, CandidateFilter(list_id=list_id), 5
        )
    finally:
        await database.dispose()
    # LUNA similarity by the descriptor model's own calibration, as the service computes it.
    model = build_estimator(Settings.from_args(app_args(CONFIG)[0], environ={}), "face_descriptor")
    return [[(hit.face_id, float(model.similarity(hit.cosine))) for hit in row] for row in found]

"""Handlers and verifiers: CRUD, validation, pagination, integrity; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import copy
from datetime import datetime

import pytest

from serve_app.policies import Policies
from tests.api.helpers import assert_luna_error
from tests.conftest import new_account


def headers(account: str) -> dict[str, str]:
    return {"Luna-Account-Id": account}


async def make_list(client, account: str) -> str:
    response = await client.post("/1/lists", json={"user_data": "watch"}, headers=headers(account))
    assert response.status_code == 201, response.text
    return response.json()["list_id"]


def full_policies(list_id: str) -> dict:
    """Every policy section, with values other than the defaults where it matters."""
    policies = Policies().model_dump(mode="json")
    detect = policies["detect_policy"]
    detect.update(multiface_policy=2, estimate_head_pose=1, estimate_quality=1, yaw_threshold=30,
                  pitch_threshold=25, roll_threshold=40, mask_states=[1, 2], extract_exif=1)  # fmt: skip
    detect["face_quality"]["checks"]["head_yaw"] = {
        "estimate": 1,
        "threshold": {"min": -20.0, "max": 20.0},
    }
    detect["estimate_liveness"] = {
        "estimate": 0,
        "liveness_threshold": 0.7,
        "quality_threshold": 0.3,
    }
    policies["extract_policy"].update(
        extract_face_descriptor=1, extract_basic_attributes=1, fd_score_threshold=0.5
    )
    policies["match_policy"] = [
        {
            "label": "vip",
            "candidates": {
                "origin": "faces", "account_id": None, "list_id": list_id, "face_ids": None,
                "external_ids": None, "user_data": None, "create_time__gte": "2024-01-01T00:00:00.5Z",
                "create_time__lt": None, "face_id__gte": None, "face_id__lt": None,
                "event_ids": None, "handler_ids": None, "sources": None, "tags": None,
            },
            "filters": Policies().model_dump(mode="json")["storage_policy"]["face_policy"]["filters"],
            "limit": 5,
            "threshold": 0.8,
            "targets": ["face_id", "similarity"],
        }
    ]  # fmt: skip
    storage = policies["storage_policy"]
    storage["face_policy"].update(store_face=1, set_sample_as_avatar=0)
    storage["face_policy"]["link_to_lists_policy"] = [
        {"list_id": list_id, "filters": {**storage["face_policy"]["filters"], "gender": 1}}
    ]
    storage["attribute_policy"].update(store_attribute=1, ttl=600)
    storage["event_policy"]["filters"]["match"] = [
        {"label": "vip", "similarity__gte": 0.9, "similarity__lte": None}
    ]
    policies["conditional_tags_policy"] = [
        {
            "tag": "adult",
            "filters": {**storage["event_policy"]["filters"], "match": None, "age__gte": 18},
        }
    ]
    return policies


async def test_full_handler_reads_back_identical_and_lists_counts_replaces_removes(db_client):
    account = new_account()
    list_id = await make_list(db_client, account)
    policies = full_policies(list_id)
    body = {"description": "second avenue", "policies": policies, "is_dynamic": False}
    created = await db_client.post("/1/handlers", json=body, headers=headers(account))
    assert created.status_code == 201, created.text
    handler_id = created.json()["handler_id"]
    assert created.json()["url"] == f"/1/handlers/{handler_id}"
    assert created.headers["Location"] == created.json()["url"]

    got = (await db_client.get(f"/1/handlers/{handler_id}", headers=headers(account))).json()
    assert got["policies"] == policies
    assert got["description"] == "second avenue" and got["is_dynamic"] is False
    assert got["account_id"] == account and got["handler_id"] == handler_id
    created_at = datetime.fromisoformat(got["create_time"].replace("Z", "+00:00"))
    assert created_at.tzinfo is not None and got["last_update_time"] == got["create_time"]

    listed = await db_client.get("/1/handlers", headers=headers(account))
    assert [h["handler_id"] for h in listed.json()] == [handler_id]
    count = await db_client.get("/1/handlers/count", headers=headers(account))
    assert count.json() == {"handlers_count": 1}

    changed = copy.deepcopy(policies)
    changed["detect_policy"]["multiface_policy"] = 0
    replaced = await db_client.put(
        f"/1/handlers/{handler_id}",
        json={"description": "first avenue", "policies": changed},
        headers=headers(account),
    )
    assert replaced.status_code == 204
    got = (await db_client.get(f"/1/handlers/{handler_id}", headers=headers(account))).json()
    assert got["policies"] == changed and got["description"] == "first avenue"
    assert got["last_update_time"] > got["create_time"]

    assert (
        await db_client.head(f"/1/handlers/{handler_id}", headers=headers(account))
    ).status_code == 200
    assert (
        await db_client.delete(f"/1/handlers/{handler_id}", headers=headers(account))
    ).status_code == 204
    assert (
        await db_client.head(f"/1/handlers/{handler_id}", headers=headers(account))
    ).status_code == 404
    response = await db_client.get(f"/1/handlers/{handler_id}", headers=headers(account))
    assert (
        assert_luna_error(response, 11033, 404)["detail"]
        == f"Handler with ID '{handler_id}' not found"
    )
    assert_luna_error(
        await db_client.delete(f"/1/handlers/{handler_id}", headers=headers(account)), 11033, 404
    )


async def test_defaults_are_filled_and_dynamic_handlers_have_no_policies(db_client):
    account = new_account()
    created = await db_client.post("/1/handlers", json={}, headers=headers(account))
    got = (await db_client.get(created.json()["url"], headers=headers(account))).json()
    assert got["policies"] == Policies().model_dump(mode="json")
    assert got["policies"]["detect_policy"]["detect_face"] == 1
    assert got["policies"]["storage_policy"]["attribute_policy"]["ttl"] == 300
    assert got["description"] == ""
    dynamic = await db_client.post(
        "/1/handlers", json={"is_dynamic": True}, headers=headers(account)
    )
    got = (await db_client.get(dynamic.json()["url"], headers=headers(account))).json()
    assert got["is_dynamic"] is True and got["policies"] is None


async def test_pagination_and_filters(db_client):
    account = new_account()
    ids = []
    for i, description in enumerate(
        ["North gate", "north door", "South gate", "50% off_", "lobby"]
    ):
        response = await db_client.post(
            "/1/handlers",
            json={"description": description, "is_dynamic": i % 2 == 1},
            headers=headers(account),
        )
        ids.append(response.json()["handler_id"])
    pages = []
    for page in (1, 2, 3, 4):
        response = await db_client.get(
            f"/1/handlers?page={page}&page_size=2", headers=headers(account)
        )
        assert response.status_code == 200
        pages.append([h["handler_id"] for h in response.json()])
    assert [len(p) for p in pages] == [2, 2, 1, 0]
    assert [i for p in pages for i in p] == ids[::-1]  # newest first, no overlap

    async def described(query: str) -> set[str]:
        response = await db_client.get(
            f"/1/handlers?{query}&page_size=100", headers=headers(account)
        )
        return {h["description"] for h in response.json()}

    assert await described("description=NORTH") == {"North gate", "north door"}
    assert await described("description=gate") == {"North gate", "South gate"}
    assert await described("description=%25") == {"50% off_"}  # LIKE wildcards are literal
    assert await described("description=_") == {"50% off_"}
    assert await described("is_dynamic=1") == {"north door", "50% off_"}
    count = await db_client.get(
        "/1/handlers/count?description=gate&is_dynamic=0", headers=headers(account)
    )
    assert count.json() == {"handlers_count": 2}
    assert_luna_error(
        await db_client.get("/1/handlers?page_size=1001", headers=headers(account)), 12012, 400
    )
    assert_luna_error(
        await db_client.get("/1/handlers?page=0", headers=headers(account)), 12012, 400
    )


@pytest.mark.parametrize(
    "policies,path",
    [
        ({"detect_policy": {"multiface_policy": 3}}, "policies.detect_policy.multiface_policy"),
        ({"detect_policy": {"yaw_threshold": 181}}, "policies.detect_policy.yaw_threshold"),
        ({"detect_policy": {"mask_states": [4]}}, "policies.detect_policy.mask_states.0"),
        ({"detect_policy": {"mask_states": []}}, "policies.detect_policy.mask_states"),
        ({"detect_policy": {"estimate_emotion": 1}}, "policies.detect_policy.estimate_emotion"),
        ({"extract_policy": {"fd_score_threshold": 1.5}}, "policies.extract_policy.fd_score_threshold"),
        ({"storage_policy": {"attribute_policy": {"ttl": 0}}}, "policies.storage_policy.attribute_policy.ttl"),
        ({"storage_policy": {"attribute_policy": {"ttl": 86401}}}, "policies.storage_policy.attribute_policy.ttl"),
        ({"match_policy": [{"label": "a"}]}, "policies.match_policy.0.candidates"),
        ({"match_policy": [{"label": "a", "candidates": {"origin": "cats"}}]}, "policies.match_policy.0.candidates.origin"),
        ({"match_policy": [{"label": "a", "candidates": {}, "limit": 0}]}, "policies.match_policy.0.limit"),
        ({"conditional_tags_policy": [{"tag": "x" * 37}]}, "policies.conditional_tags_policy.0.tag"),
        ({"storage_policy": {"event_policy": {"filters": {"match": [{"label": "nope"}]}}}}, "policies"),
    ],
)  # fmt: skip
async def test_an_invalid_policy_names_the_path_of_the_bad_field(db_client, policies, path):
    account = new_account()
    response = await db_client.post(
        "/1/handlers/validator", json={"policies": policies}, headers=headers(account)
    )
    body = assert_luna_error(response, 12022, 400)
    assert body["detail"].startswith(f"Failed to validate input json. Path: '{path}'")
    response = await db_client.post(
        "/1/handlers", json={"policies": policies}, headers=headers(account)
    )
    assert assert_luna_error(response, 12022, 400)["detail"] == body["detail"]
    count = await db_client.get("/1/handlers/count", headers=headers(account))
    assert count.json() == {"handlers_count": 0}


async def test_validator_accepts_valid_policies_and_refuses_bad_requests(db_client):
    account = new_account()
    list_id = await make_list(db_client, account)
    ok = await db_client.post(
        "/1/handlers/validator", json={"policies": full_policies(list_id)}, headers=headers(account)
    )
    assert ok.status_code == 204 and ok.content == b""
    assert_luna_error(
        await db_client.post("/1/handlers/validator", json={}, headers=headers(account)), 12022, 400
    )
    bad_type = await db_client.post(
        "/1/handlers", content=b"{}", headers={**headers(account), "Content-Type": "text/plain"}
    )
    assert_luna_error(bad_type, 12017, 400)
    not_json = await db_client.post(
        "/1/handlers",
        content=b"{nope",
        headers={**headers(account), "Content-Type": "application/json"},
    )
    assert_luna_error(not_json, 12002, 400)
    long = await db_client.post(
        "/1/handlers", json={"description": "x" * 129}, headers=headers(account)
    )
    assert "Path: 'description'" in assert_luna_error(long, 12022, 400)["detail"]
    no_account = await db_client.post("/1/handlers", json={}, headers={"Luna-Account-Id": ""})
    assert_luna_error(no_account, 11036, 403)


async def test_policies_must_name_lists_of_the_account(db_client):
    account = new_account()
    foreign = await make_list(db_client, new_account())
    response = await db_client.post(
        "/1/handlers", json={"policies": full_policies(foreign)}, headers=headers(account)
    )
    assert foreign in assert_luna_error(response, 11020, 400)["detail"]


async def test_a_failed_replace_changes_nothing(db_client):
    account = new_account()
    created = await db_client.post(
        "/1/handlers", json={"description": "kept"}, headers=headers(account)
    )
    before = (await db_client.get(created.json()["url"], headers=headers(account))).json()
    bad = {"description": "lost", "policies": {"detect_policy": {"multiface_policy": 7}}}
    assert_luna_error(
        await db_client.put(created.json()["url"], json=bad, headers=headers(account)), 12022, 400
    )
    assert (await db_client.get(created.json()["url"], headers=headers(account))).json() == before


async def test_concurrent_replaces_never_leave_a_mix(db_client):
    account = new_account()
    created = await db_client.post("/1/handlers", json={}, headers=headers(account))
    url = created.json()["url"]
    bodies = []
    for i in range(12):
        policies = Policies().model_dump(mode="json")
        policies["detect_policy"]["yaw_threshold"] = i
        policies["storage_policy"]["attribute_policy"]["ttl"] = 1000 + i
        policies["conditional_tags_policy"] = [{"tag": f"t{i}", "filters": {}}]
        bodies.append({"description": f"version {i}", "policies": policies})
    responses = await asyncio.gather(
        *(db_client.put(url, json=b, headers=headers(account)) for b in bodies)
    )
    assert {r.status_code for r in responses} == {204}
    final = (await db_client.get(url, headers=headers(account))).json()
    i = int(final["description"].split()[1])
    expected = Policies.model_validate(bodies[i]["policies"]).model_dump(mode="json")
    assert final["policies"] == expected


async def test_verifiers_crud_and_version(db_client):
    account = new_account()
    body = {"description": "strict verifier", "policies": {"verification_threshold": 0.7}}
    created = await db_client.post("/1/verifiers", json=body, headers=headers(account))
    assert created.status_code == 201, created.text
    url = created.json()["url"]
    got = (await db_client.get(url, headers=headers(account))).json()
    assert got["version"] == 1 and got["description"] == "strict verifier"
    assert got["policies"]["verification_threshold"] == 0.7
    assert got["policies"]["extract_policy"]["extract_face_descriptor"] == 1
    for expected in (2, 3):
        replaced = await db_client.put(
            url, json={"description": f"v{expected}"}, headers=headers(account)
        )
        assert replaced.status_code == 200 and replaced.json() == {"version": expected}
    got = (await db_client.get(url, headers=headers(account))).json()
    assert got["version"] == 3 and got["policies"]["verification_threshold"] == 0.5
    assert (await db_client.get("/1/verifiers/count", headers=headers(account))).json() == {
        "verifiers_count": 1
    }
    listed = (await db_client.get("/1/verifiers?description=V3", headers=headers(account))).json()
    assert [v["verifier_id"] for v in listed] == [created.json()["verifier_id"]]
    bad = {"policies": {"verification_threshold": 2}}
    response = await db_client.put(url, json=bad, headers=headers(account))
    assert "policies.verification_threshold" in assert_luna_error(response, 12022, 400)["detail"]
    assert (await db_client.get(url, headers=headers(account))).json()["version"] == 3
    assert (await db_client.head(url, headers=headers(account))).status_code == 200
    assert (await db_client.delete(url, headers=headers(account))).status_code == 204
    assert_luna_error(await db_client.get(url, headers=headers(account)), 34004, 404)
    assert (await db_client.head(url, headers=headers(account))).status_code == 404


async def test_verifiers_are_paged_newest_first_and_counted_by_description(db_client):
    account = new_account()
    ids = []
    for description in ("entry A", "entry B", "exit"):
        created = await db_client.post(
            "/1/verifiers", json={"description": description}, headers=headers(account)
        )
        ids.append(created.json()["verifier_id"])

    async def page(query: str) -> list[str]:
        response = await db_client.get(f"/1/verifiers?{query}", headers=headers(account))
        assert response.status_code == 200, response.text
        return [v["verifier_id"] for v in response.json()]

    assert await page("page_size=2") == [ids[2], ids[1]]
    assert await page("page=2&page_size=2") == [ids[0]]
    assert await page("description=ENTRY") == [ids[1], ids[0]]
    count = await db_client.get("/1/verifiers/count?description=entry", headers=headers(account))
    assert count.json() == {"verifiers_count": 2}
    assert (await db_client.get("/1/verifiers", headers=headers(new_account()))).json() == []

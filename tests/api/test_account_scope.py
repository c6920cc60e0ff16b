"""List and count GETs without an account see every account, as the API document makes the
account optional there; with authentication on, only admins may. Reads of one object and
state changes still need an account."""

from __future__ import annotations

import base64
import uuid

import httpx
import pytest

from serve_app.app import create_app
from serve_app.storage.common import AccountStore
from serve_app.storage.events import EventStore, NewEvent
from serve_app.storage.handlers import HandlerStore
from serve_app.storage.tables import utcnow
from tests.api.conftest import make_services, postgres_url
from tests.api.helpers import assert_luna_error

ADMIN, ADMIN_PASSWORD = "scope-admin@example.org", "admin-password-1"
LISTS = ("/1/handlers", "/1/handlers/count", "/1/verifiers", "/1/verifiers/count", "/1/faces")


def basic(login: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()}


def bare(services) -> httpx.AsyncClient:
    """A client that sends no account and no credentials unless a request does."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(services)), base_url="http://luna"
    )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(request, models_dir, tmp_path_factory):
    """(database url or None, data folder) of each backend."""
    data_dir = tmp_path_factory.mktemp(f"scope-{request.param}")
    if request.param == "sqlite":
        return None, data_dir
    url = postgres_url()
    if url is None:
        pytest.skip("no PostgreSQL: scripts/run-tests.sh starts one (scripts/postgres.sh)")
    return url, data_dir


def services_of(models_dir, backend, **overrides):
    url, data_dir = backend
    return make_services(
        models_dir, data_dir, **({"database_url": url} if url else {}), **overrides
    )


async def objects_of(http, headers) -> dict[str, str]:
    """One handler, verifier, list and face of the account the headers name."""
    made = {}
    for kind, path, body in (
        ("handler", "/1/handlers", {"description": "scope"}),
        ("verifier", "/1/verifiers", {"description": "scope"}),
        ("list", "/1/lists", {}),
        ("face", "/1/faces", {}),
    ):
        response = await http.post(path, json=body, headers=headers)
        assert response.status_code == 201, response.text
        made[kind] = response.json()[f"{kind}_id"]
    return made


def ids(body) -> set[str]:
    if isinstance(body, list):
        return {item.get("handler_id") or item.get("verifier_id") for item in body}
    for key in ("faces", "lists", "events"):
        if key in body:
            return {item[f"{key[:-1]}_id"] for item in body[key]}
    raise AssertionError(body)


async def test_without_an_account_lists_and_counts_see_every_account(models_dir, backend):
    services = services_of(models_dir, backend)
    async with bare(services) as http:
        first, second = str(uuid.uuid4()), str(uuid.uuid4())
        a = await objects_of(http, {"Luna-Account-Id": first})
        b = await objects_of(http, {"Luna-Account-Id": second})
        for path, kind in (
            ("/1/handlers", "handler"),
            ("/1/verifiers", "verifier"),
            ("/1/lists", "list"),
            ("/1/faces", "face"),
        ):
            everyone = await http.get(path, params={"page_size": 1000})
            assert everyone.status_code == 200, everyone.text
            assert {a[kind], b[kind]} <= ids(everyone.json()), path
            mine = await http.get(path, headers={"Luna-Account-Id": first})
            assert ids(mine.json()) == {a[kind]}, path
            by_query = await http.get(path, params={"account_id": second})
            assert ids(by_query.json()) == {b[kind]}, path
        for path, key in (
            ("/1/handlers/count", "handlers_count"),
            ("/1/verifiers/count", "verifiers_count"),
        ):
            total = (await http.get(path)).json()[key]
            assert total >= 2
            assert (await http.get(path, headers={"Luna-Account-Id": first})).json()[key] == 1
        assert_luna_error(await http.get("/1/handlers", params={"account_id": "nope"}), 12012, 400)
        # One object, or any change, still needs the account.
        assert_luna_error(await http.get(f"/1/handlers/{a['handler']}"), 11036, 403)
        assert_luna_error(await http.delete(f"/1/lists/{a['list']}"), 11036, 403)
        assert (
            await http.get(f"/1/lists/{a['list']}", headers={"Luna-Account-Id": second})
        ).status_code == 404
    await services.storage.close()


async def test_events_list_every_account_without_one(models_dir, backend):
    services = services_of(models_dir, backend)
    accounts = [str(uuid.uuid4()), str(uuid.uuid4())]
    events = {}
    async with services.transaction() as session:
        for account in accounts:
            now = utcnow()
            event = NewEvent.from_body(account, {"event_id": str(uuid.uuid4())}, now, now)
            await EventStore(session, account).create_many([event])
            events[account] = event.event_id
    async with bare(services) as http:
        everyone = (await http.get("/1/events", params={"page_size": 1000})).json()
        assert set(events.values()) <= ids(everyone)
        mine = (await http.get("/1/events", headers={"Luna-Account-Id": accounts[0]})).json()
        assert ids(mine) == {events[accounts[0]]} and mine["count"] == 1
        assert_luna_error(await http.get(f"/1/events/{events[accounts[0]]}"), 11036, 403)
    await services.storage.close()


async def test_with_auth_only_admins_list_every_account(models_dir, backend):
    services = services_of(
        models_dir,
        backend,
        auth={"enabled": True, "admin_login": ADMIN, "admin_password": ADMIN_PASSWORD},
    )
    admin = basic(ADMIN, ADMIN_PASSWORD)
    async with bare(services) as http:
        users = []
        for _ in range(2):
            login = f"{uuid.uuid4().hex[:10]}@example.org"
            body = {"login": login, "password": "a long password"}
            created = await http.post("/1/accounts", json=body, headers=admin)
            users.append((created.json()["account_id"], basic(login, "a long password")))
        (first, first_auth), (second, second_auth) = users
        a, b = await objects_of(http, first_auth), await objects_of(http, second_auth)
        # A user sees its own objects only, with or without naming its account.
        own = (await http.get("/1/handlers", headers=first_auth)).json()
        assert ids(own) == {a["handler"]} and own[0]["account_id"] == first
        assert (await http.get("/1/handlers/count", headers=first_auth)).json() == {
            "handlers_count": 1
        }
        refused = await http.get("/1/handlers", params={"account_id": second}, headers=first_auth)
        assert_luna_error(refused, 11063, 403)
        other = await http.get(
            f"/1/handlers/{b['handler']}", params={"account_id": second}, headers=first_auth
        )
        assert_luna_error(other, 11063, 403)
        # An admin sees every account, or the one it names.
        everyone = await http.get("/1/handlers", params={"page_size": 1000}, headers=admin)
        assert {a["handler"], b["handler"]} <= ids(everyone.json())
        named = await http.get("/1/faces", params={"account_id": second}, headers=admin)
        assert ids(named.json()) == {b["face"]}
        one = await http.get(f"/1/lists/{b['list']}", params={"account_id": second}, headers=admin)
        assert one.status_code == 200
        # ...but changes only its own account's objects.
        gone = await http.delete(
            f"/1/lists/{b['list']}", params={"account_id": second}, headers=admin
        )
        assert_luna_error(gone, 11063, 403)
    await services.storage.close()


async def test_stores_of_all_accounts_refuse_anything_but_lists(models_dir, backend):
    services = services_of(models_dir, backend)
    async with services.transaction() as session:
        store = HandlerStore(session, None)
        assert isinstance(store, AccountStore)
        assert isinstance(await store.find(None, None, 0, 10), list)
        for call in (
            lambda: store.get(str(uuid.uuid4())),
            lambda: store.remove(str(uuid.uuid4())),
            lambda: store.create("x", None, True),
            lambda: store.missing([str(uuid.uuid4())]),
            lambda: EventStore(session, None).get(str(uuid.uuid4())),
        ):
            with pytest.raises(ValueError):
                await call()
    await services.storage.close()


@pytest.mark.parametrize("path", LISTS)
async def test_list_routes_take_an_optional_account(client, path):
    # The shared client names its account; the same routes answer without one too.
    assert (await client.get(path)).status_code == 200
    assert (await client.get(path, headers={"Luna-Account-Id": ""})).status_code == 200

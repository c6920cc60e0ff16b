"""Authentication (serve_app.http.auth): accounts, Basic and Bearer credentials, tokens, the
account a request acts as, and image URL fetching kept off private addresses."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from alembic import command
from sqlalchemy import select

from serve_app.app import create_app
from serve_app.errors import LunaError
from serve_app.http.auth import hash_password, parse_authorization, verify_password
from serve_app.http.inputs import _JsonUrl, fetch_urls, refused_address
from serve_app.settings import ImageUrlSettings, LimitSettings, Settings
from serve_app.storage import migrate
from serve_app.storage.tables import Account, AccountToken
from tests.api.conftest import make_services, postgres_url
from tests.api.helpers import AsgiWebSocket, assert_luna_error

ROOT = Path(__file__).resolve().parents[2]
ADMIN, ADMIN_PASSWORD = "root@example.org", "admin-password-1"


def basic(login: str, password: str) -> dict[str, str]:
    pair = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def auth_services(models_dir, data_dir, database_url=None, enabled=True, **auth):
    extra = {"database_url": database_url} if database_url else {}
    settings = {
        "enabled": enabled,
        "admin_login": ADMIN,
        "admin_password": ADMIN_PASSWORD,
        "credential_cache_s": 0,  # each request asks the database: revocation is seen at once
        **auth,
    }
    return make_services(models_dir, data_dir, auth=settings, **extra)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def secured(request, models_dir, tmp_path_factory):
    """Services with authentication on, on each database backend."""
    data_dir = tmp_path_factory.mktemp(f"auth-{request.param}")
    if request.param == "sqlite":
        return auth_services(models_dir, data_dir)
    url = postgres_url()
    if url is None:
        pytest.skip("no PostgreSQL: scripts/run-tests.sh starts one (scripts/postgres.sh)")
    return auth_services(models_dir, data_dir, url)


@pytest.fixture
async def http(secured):
    """A client that sends no account and no credentials unless a request does."""
    transport = httpx.ASGITransport(app=create_app(secured))
    async with httpx.AsyncClient(transport=transport, base_url="http://luna") as client:
        yield client


async def new_user(http, account_type: str = "user", **fields) -> tuple[str, str, str]:
    """(account_id, login, password) of a new account, created by the admin."""
    login, password = f"{uuid.uuid4().hex[:12]}@example.org", "a long password"
    body = {"login": login, "password": password, "account_type": account_type, **fields}
    response = await http.post("/1/accounts", json=body, headers=basic(ADMIN, ADMIN_PASSWORD))
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == response.json()["url"]
    return response.json()["account_id"], login, password


async def test_requests_without_credentials_get_401_and_service_routes_stay_open(http):
    refused = await http.get("/1/handlers", headers={"Luna-Account-Id": str(uuid.uuid4())})
    body = assert_luna_error(refused, 11065, 401)
    assert "no credentials" in body["detail"]
    assert refused.headers["WWW-Authenticate"].startswith("Basic realm=")
    for path in ("/version", "/healthcheck", "/1/docs/spec"):
        assert (await http.get(path)).status_code == 200, path


@pytest.mark.parametrize(
    "header",
    [
        "Basic " + base64.b64encode(f"{ADMIN}:wrong password".encode()).decode(),
        "Basic " + base64.b64encode(b"nobody@example.org:whatever").decode(),
        "Basic not base64!",
        "Basic " + base64.b64encode(b"no colon").decode(),
        "Bearer " + "x" * 43,
        "Digest username=root",
    ],
)
async def test_credentials_that_do_not_verify_get_401(http, header):
    assert_luna_error(await http.get("/1/handlers", headers={"Authorization": header}), 11065, 401)


async def test_the_account_comes_from_the_credentials(http):
    account_id, login, password = await new_user(http)
    me = basic(login, password)
    created = await http.post("/1/handlers", json={"description": "mine"}, headers=me)
    assert created.status_code == 201, created.text
    handler = (await http.get(created.json()["url"], headers=me)).json()
    assert handler["account_id"] == account_id
    # Naming the same account is fine; naming another is refused (LUNA's 11069).
    same = await http.get(created.json()["url"], headers={**me, "Luna-Account-Id": account_id})
    assert same.status_code == 200
    other = {**me, "Luna-Account-Id": str(uuid.uuid4())}
    assert_luna_error(await http.get(created.json()["url"], headers=other), 11069, 403)
    assert_luna_error(await http.post("/1/handlers", json={}, headers=other), 11069, 403)
    # Another account's credentials do not see the handler.
    _, login2, password2 = await new_user(http)
    stranger = await http.get(created.json()["url"], headers=basic(login2, password2))
    assert stranger.status_code == 404


async def test_only_admins_create_accounts(http):
    _, login, password = await new_user(http)
    body = {"login": "x@example.org", "password": "a long password"}
    refused = await http.post("/1/accounts", json=body, headers=basic(login, password))
    assert_luna_error(refused, 11059, 403)
    assert_luna_error(await http.post("/1/accounts", json=body), 11065, 401)


async def test_account_bodies_are_checked_and_logins_are_unique(http):
    admin = basic(ADMIN, ADMIN_PASSWORD)
    for body in (
        {"login": "a@example.org", "password": "short"},
        {"login": "a:b", "password": "a long password"},
        {"login": "a@example.org", "password": "a long password", "account_type": "root"},
        {"login": "a@example.org", "password": "a long password", "extra": 1},
    ):
        assert_luna_error(await http.post("/1/accounts", json=body, headers=admin), 12022, 400)
    account_id, login, _ = await new_user(http)
    again = {"login": login, "password": "another password"}
    taken = await http.post("/1/accounts", json=again, headers=admin)
    assert "login" in assert_luna_error(taken, 12031, 409)["detail"]
    same_id = {"login": "z" + login, "password": "another password", "account_id": account_id}
    assert_luna_error(await http.post("/1/accounts", json=same_id, headers=admin), 12031, 409)


async def test_an_account_created_with_an_id_owns_what_that_id_made(http):
    account_id = str(uuid.uuid4())
    _, login, password = await new_user(http, account_id=account_id)
    me = basic(login, password)
    assert (await http.get(f"/1/accounts/{account_id}", headers=me)).json()["login"] == login
    other, login2, password2 = await new_user(http)
    refused = await http.get(f"/1/accounts/{account_id}", headers=basic(login2, password2))
    assert_luna_error(refused, 11059, 403)
    as_admin = await http.get(f"/1/accounts/{other}", headers=basic(ADMIN, ADMIN_PASSWORD))
    assert as_admin.json()["account_type"] == "user"
    assert "password" not in str(as_admin.json())


async def test_tokens_issue_list_use_and_revoke(http, secured):
    account_id, login, password = await new_user(http)
    me = basic(login, password)
    issued = await http.post("/1/accounts/tokens", json={"description": "ci"}, headers=me)
    assert issued.status_code == 201, issued.text
    token, token_id = issued.json()["token"], issued.json()["token_id"]
    assert issued.headers["Location"] == f"/1/accounts/tokens/{token_id}"
    made = await http.post("/1/lists", json={}, headers=bearer(token))
    assert made.status_code == 201
    listed = (await http.get("/1/accounts/tokens", headers=bearer(token))).json()
    assert listed["count"] == 1
    assert listed["tokens"][0]["token_id"] == token_id
    assert listed["tokens"][0]["account_id"] == account_id
    assert token not in str(listed)
    one = await http.get(f"/1/accounts/tokens/{token_id}", headers=me)
    assert one.json()["description"] == "ci" and one.json()["expiration_time"] is None
    # A token cannot mint tokens (it could outlive itself), and tokens stay the account's.
    assert_luna_error(
        await http.post("/1/accounts/tokens", json={}, headers=bearer(token)), 11059, 403
    )
    _, login2, password2 = await new_user(http)
    theirs = await http.delete(f"/1/accounts/tokens/{token_id}", headers=basic(login2, password2))
    assert_luna_error(theirs, 12013, 404)
    removed = await http.delete(f"/1/accounts/tokens/{token_id}", headers=me)
    assert removed.status_code == 204
    assert_luna_error(await http.get("/1/lists", headers=bearer(token)), 11065, 401)
    assert_luna_error(await http.delete(f"/1/accounts/tokens/{token_id}", headers=me), 12013, 404)


async def test_tokens_expire(http):
    _, login, password = await new_user(http)
    me = basic(login, password)
    past = {"expiration_time": "2001-01-01T00:00:00Z"}
    assert_luna_error(await http.post("/1/accounts/tokens", json=past, headers=me), 12022, 400)
    naive = {"expiration_time": "2101-01-01T00:00:00"}
    assert_luna_error(await http.post("/1/accounts/tokens", json=naive, headers=me), 12022, 400)
    soon = (datetime.now(UTC) + timedelta(seconds=1.5)).isoformat()
    issued = await http.post("/1/accounts/tokens", json={"expiration_time": soon}, headers=me)
    token = issued.json()["token"]
    assert (await http.get("/1/lists", headers=bearer(token))).status_code == 200
    await asyncio.sleep(1.6)
    body = assert_luna_error(await http.get("/1/lists", headers=bearer(token)), 11065, 401)
    assert "expired" in body["detail"]


async def test_passwords_and_tokens_are_stored_only_as_hashes(http, secured):
    account_id, login, password = await new_user(http)
    token = (await http.post("/1/accounts/tokens", json={}, headers=basic(login, password))).json()[
        "token"
    ]
    async with secured.transaction() as session:
        account = await session.get(Account, account_id)
        stored = (
            await session.execute(select(AccountToken).where(AccountToken.account_id == account_id))
        ).scalar_one()
    assert account.password_hash.startswith("scrypt$") and password not in account.password_hash
    assert verify_password(password, account.password_hash)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()


async def test_the_configured_admin_is_created_once_and_follows_a_changed_password(
    models_dir, tmp_path
):
    first = auth_services(models_dir, tmp_path)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(first)), base_url="http://luna"
    ) as http:
        assert (await http.get("/1/lists", headers=basic(ADMIN, ADMIN_PASSWORD))).status_code == 200
    await first.storage.close()
    # A new process with another configured password: the old one stops working.
    second = auth_services(models_dir, tmp_path, admin_password="rotated-password")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(second)), base_url="http://luna"
    ) as http:
        old = await http.get("/1/lists", headers=basic(ADMIN, ADMIN_PASSWORD))
        assert_luna_error(old, 11065, 401)
        new = await http.get("/1/lists", headers=basic(ADMIN, "rotated-password"))
        assert new.status_code == 200
    async with second.transaction() as session:
        admins = (await session.execute(select(Account).where(Account.login == ADMIN))).all()
    assert len(admins) == 1
    await second.storage.close()


async def test_with_auth_off_credentials_are_optional_but_binding(models_dir, tmp_path):
    services = auth_services(models_dir, tmp_path, enabled=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(services)), base_url="http://luna"
    ) as http:
        anyone = str(uuid.uuid4())
        assert (await http.get("/1/lists", headers={"Luna-Account-Id": anyone})).status_code == 200
        # Anyone may create accounts when authentication is off...
        body = {"login": "u@example.org", "password": "a long password"}
        created = await http.post("/1/accounts", json=body)
        assert created.status_code == 201
        me = basic("u@example.org", "a long password")
        made = await http.post("/1/lists", json={}, headers=me)
        lists = (await http.get("/1/lists", headers=me)).json()["lists"]
        assert [item["list_id"] for item in lists] == [made.json()["list_id"]]
        assert lists[0]["account_id"] == created.json()["account_id"]
        # ...but credentials that are given are checked, and tokens need them.
        wrong = basic("u@example.org", "not the password")
        assert_luna_error(await http.get("/1/lists", headers=wrong), 11065, 401)
        assert_luna_error(await http.get("/1/accounts/tokens"), 11065, 401)
    await services.storage.close()


def test_password_hashes_are_salted_and_verify():
    first, second = hash_password("secret words"), hash_password("secret words")
    assert first != second
    assert verify_password("secret words", first) and verify_password("secret words", second)
    assert not verify_password("secret word", first)
    assert not verify_password("secret words", "md5$abc")
    assert not verify_password("secret words", "garbage")


def test_basic_credentials_keep_colons_in_passwords():
    header = "Basic " + base64.b64encode(b"me@example.org:pa:ss").decode()
    credentials = parse_authorization(header)
    assert (credentials.login, credentials.password) == ("me@example.org", "pa:ss")
    with pytest.raises(LunaError):
        parse_authorization("Bearer ")


def test_auth_settings_come_from_the_environment_and_stay_hidden():
    environ = {
        "LUNA_AUTH_ENABLED": "1",
        "LUNA_ADMIN_LOGIN": "boss@example.org",
        "LUNA_ADMIN_PASSWORD": "from the environment",
    }
    settings = Settings.from_args({}, environ=environ)
    assert settings.auth.enabled and settings.auth.admin_login == "boss@example.org"
    assert settings.public_view()["auth"]["admin_password"] == "***"
    assert not Settings.from_args(
        {"auth": {"enabled": True}}, {"LUNA_AUTH_ENABLED": "0"}
    ).auth.enabled
    with pytest.raises(ValueError):
        Settings.from_args({"auth": {"admin_login": "x@example.org"}}, environ={})
    with pytest.raises(ValueError):
        Settings.from_args({}, environ={"LUNA_AUTH_ENABLED": "maybe"})


def test_auth_is_off_on_the_laptop_and_on_in_cluster_profiles():
    def auth_of(config: dict) -> dict:
        [app] = config["applications"]
        return app["args"].get("auth", {})

    assert auth_of(yaml.safe_load((ROOT / "serve_config.yaml").read_text())).get("enabled") is False
    assert auth_of(yaml.safe_load((ROOT / "serve_config.gpu.yaml").read_text()))["enabled"] is True
    manifest = yaml.safe_load((ROOT / "cluster" / "rayservice.yaml").read_text())
    assert auth_of(yaml.safe_load(manifest["spec"]["serveConfigV2"]))["enabled"] is True


def test_the_accounts_migration_goes_down_and_up_again(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'luna.db'}"
    migrate.upgrade(url)
    config = migrate.alembic_config(url)
    command.downgrade(config, "0002")
    command.upgrade(config, "head")
    command.downgrade(config, "0002")


# Image URLs: never fetched from private networks unless configured.


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.7", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata services
        ("fe80::1%eth0", "link-local"),
        ("224.0.0.251", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),
        ("100.64.0.1", "non-public"),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_refused_addresses(address, why):
    assert refused_address(address) == why


async def fetch(url: str, **settings) -> list:
    urls = ImageUrlSettings(enabled=True, timeout_s=5, **settings)
    return await fetch_urls([_JsonUrl(url=url)], LimitSettings(), urls)


async def test_urls_of_private_hosts_are_refused(monkeypatch):
    for url in ("http://127.0.0.1:9/x.jpg", "http://localhost:9/x.jpg", "http://[::1]:9/x.jpg"):
        [item] = await fetch(url)
        assert "allow_private" in item.error.body["detail"], url

    # One private address among public ones is enough to refuse the host.
    async def mixed(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "10.0.0.8"]

    monkeypatch.setattr("serve_app.http.inputs.resolve", mixed)
    [item] = await fetch("http://images.example.org/x.jpg")
    assert "10.0.0.8" in item.error.body["detail"]


async def test_urls_of_private_hosts_are_fetched_when_allowed(photo_bytes):
    data = photo_bytes("obama.jpg")

    async def serve(reader, writer):
        request = await reader.readuntil(b"\r\n\r\n")
        assert b"Host: localhost:" in request  # the name, though the address was dialled
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        writer.write(head.encode() + data)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        [item] = await fetch(f"http://localhost:{port}/x.jpg", allow_private=True)
    assert item.error is None and item.data == data


async def test_the_console_loads_without_credentials(http):
    # The console's page and files carry no account data; it logs in with its own box, so a
    # browser must not meet a 401 (and its login dialog) before the page is shown.
    for path in ("/console", "/console/app.js"):
        response = await http.get(path)
        assert response.status_code == 200, path
        assert "WWW-Authenticate" not in response.headers
    assert_luna_error(await http.get("/console/missing.js"), 12013, 404)


def subprotocol_credentials(header: str) -> str:
    """The subprotocol a browser offers for an Authorization header on a WebSocket."""
    return "luna.authorization." + base64.urlsafe_b64encode(header.encode()).decode().rstrip("=")


async def test_websocket_credentials_come_in_the_header_or_as_a_subprotocol(http, secured):
    account_id, login, password = await new_user(http)
    issued = await http.post("/1/accounts/tokens", json={}, headers=basic(login, password))
    token = issued.json()["token"]
    app = create_app(secured)

    async def subscribe(headers=None, subprotocols=None) -> tuple[AsgiWebSocket, dict]:
        socket = AsgiWebSocket(app, headers=headers, subprotocols=subprotocols)
        return socket, await socket.connect()

    by_header, answer = await subscribe(headers=bearer(token))
    assert answer["type"] == "websocket.accept" and answer.get("subprotocol") is None, answer
    offered = ["luna", subprotocol_credentials(f"Bearer {token}")]
    by_protocol, answer = await subscribe(subprotocols=offered)
    # A browser fails the connection unless one of the offered protocols is accepted.
    assert answer["type"] == "websocket.accept" and answer["subprotocol"] == "luna", answer
    basic_offer = ["luna", subprotocol_credentials(basic(login, password)["Authorization"])]
    by_basic, answer = await subscribe(subprotocols=basic_offer)
    assert answer["type"] == "websocket.accept", answer
    assert secured.notifier.subscribers(account_id) == 3
    for socket in (by_header, by_protocol, by_basic):
        await socket.close()

    refused = [
        {},  # authentication on: a subscriber without credentials
        {"subprotocols": ["luna", subprotocol_credentials("Bearer " + "x" * 43)]},
        {"subprotocols": ["luna", "luna.authorization.not*base64"]},
        {"subprotocols": ["luna", subprotocol_credentials("Basic " + "bm9ib2R5Og==")]},
    ]
    for sent in refused:
        socket, answer = await subscribe(**sent)
        assert answer["type"] == "websocket.close" and answer["code"] == 1008, (sent, answer)
        assert answer["reason"].startswith("11065:"), (sent, answer)
        await asyncio.wait_for(socket.task, 10)
    assert secured.notifier.subscribers(account_id) == 0

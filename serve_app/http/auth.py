"""Credentials, as LUNA's API service takes them: Basic (login and password) or Bearer (a
token the account issued), in the ``Authorization`` header.

:class:`AuthMiddleware` checks the credentials a request carries and records who sent it
(:class:`Principal`) in the ASGI scope; :func:`serve_app.http.protocol.account_id` and the route
dependencies take the account from there. With authentication on, a request without
credentials is refused unless it asks for a service route (version, health, documents).
With it off, credentials are optional, but checked and binding when given.

Passwords are kept as salted scrypt hashes; tokens are 256 random bits, kept as their
SHA-256 (they cannot be guessed, so a slow hash would add nothing).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from starlette.types import ASGIApp, Receive, Scope, Send

from serve_app.errors import AUTH_FAILED, LunaError, send_error_body
from serve_app.settings import AuthSettings
from serve_app.storage.accounts import Accounts, LoginTaken
from serve_app.storage.tables import Account, utcnow

log = logging.getLogger(__name__)

USER = "user"
ADMIN = "admin"
ACCOUNT_TYPES = (USER, ADMIN)
# Routes anyone may call: probes, documents and the console's static files carry no account
# data (the console logs in with its own box, so its page must load without credentials).
# The probes are also never refused by the overload bounds (serve_app/http/limits.py).
PUBLIC_PATHS = frozenset({"/version", "/healthcheck", "/1/healthcheck"})
# Folders: a prefix also covers the folder's own path (``/console`` as ``/console/``).
PUBLIC_PREFIXES = ("/1/docs/", "/console/")
PRINCIPAL_KEY = "luna_principal"
# Browsers cannot set headers on a WebSocket, only offer subprotocols: a subscriber may offer
# ``luna`` and ``luna.authorization.<base64url of an Authorization header's value>``, and the
# service, having checked the second, accepts the first (a browser needs one accepted).
WS_PROTOCOL = "luna"
WS_CREDENTIALS_PREFIX = "luna.authorization."
CHALLENGE = b'Basic realm="luna", charset="UTF-8", Bearer realm="luna"'

# scrypt's cost: 16 MiB and about 0.1 s per hash on a small core, what guessing a password
# from a stolen hash costs too. Kept in each hash, so raising them leaves old hashes valid.
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN = 2**14, 8, 1, 32
# Most verified credentials kept in memory (only credentials that verified are kept).
CACHE_ENTRIES = 4096


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64 parts) of ``password`` with a new random salt."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN)
    return "$".join(
        ["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)]
    )


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` has hash ``encoded`` (compared in constant time)."""
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        expected = base64.b64decode(digest)
        if scheme != "scrypt":
            return False
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p), len(expected))
    except (ValueError, binascii.Error):
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    memory = 128 * r * (n + p + 2)  # what scrypt needs, above OpenSSL's 32 MiB default cap
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, dklen=length, maxmem=memory + 1024 * 1024
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# Checked against when a login does not exist, so that a wrong login costs as long as a
# wrong password and timing does not tell which logins exist.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def new_token() -> str:
    """A new bearer token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What is stored of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who a request authenticated as: the account, its type, and how (``basic`` or
    ``bearer``, with the token's id)."""

    account_id: str
    account_type: str
    via: str
    token_id: str | None = None

    @property
    def is_admin(self) -> bool:
        """Whether the account may see every account and create accounts."""
        return self.account_type == ADMIN


def principal_of(scope: Scope) -> Principal | None:
    """The principal the middleware found for this request, if it carried credentials."""
    return scope.get("state", {}).get(PRINCIPAL_KEY)


@dataclass(frozen=True)
class Credentials:
    """What an Authorization header carries: a login and password, or a token."""

    scheme: str
    login: str = ""
    password: str = ""
    token: str = ""

    @property
    def cache_key(self) -> str:
        """A key for the verified-credentials cache that holds no secret in the clear."""
        if self.scheme == "bearer":
            return "bearer:" + token_hash(self.token)
        secret = f"{self.login}\0{self.password}".encode()
        return "basic:" + hashlib.sha256(secret).hexdigest()


def parse_authorization(header: str) -> Credentials:
    """The credentials of an ``Authorization`` header; LUNA's 11065 when it is not Basic or
    Bearer or is malformed."""
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return Credentials("bearer", token=value)
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise LunaError(AUTH_FAILED, "malformed Basic credentials") from exc
        login, colon, password = decoded.partition(":")
        if not colon or not login:
            raise LunaError(AUTH_FAILED, "malformed Basic credentials")
        return Credentials("basic", login=login, password=password)
    raise LunaError(AUTH_FAILED, "use Basic or Bearer authorization")


class Authenticator:
    """Verifies credentials against the accounts in the database, and keeps verified ones
    for ``credential_cache_s`` so that most requests cost neither a query nor a hash."""

    def __init__(self, settings: AuthSettings, services: object) -> None:
        self.settings = settings
        self.services = services
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._admin_ready = False
        self._admin_lock = asyncio.Lock()

    async def authenticate(self, header: str) -> Principal:
        """The principal of an ``Authorization`` header; LUNA's 11065 (401) when the
        credentials are malformed, unknown, wrong or expired."""
        credentials = parse_authorization(header)
        key = credentials.cache_key
        cached = self._cache.get(key)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            self._cache.move_to_end(key)
            return cached[0]
        await self.ensure_admin()
        if credentials.scheme == "basic":
            principal, expires = await self._basic(credentials), None
        else:
            principal, expires = await self._bearer(credentials)
        self._remember(key, principal, now, expires)
        return principal

    async def _basic(self, credentials: Credentials) -> Principal:
        async with self.services.transaction() as session:
            account = await Accounts(session).by_login(credentials.login)
        encoded = account.password_hash if account is not None else _DUMMY_HASH
        # The hash is slow on purpose: off the event loop.
        valid = await asyncio.to_thread(verify_password, credentials.password, encoded)
        if account is None or not valid:
            raise LunaError(AUTH_FAILED, "wrong login or password")
        return Principal(account.account_id, account.account_type, "basic")

    async def _bearer(self, credentials: Credentials) -> tuple[Principal, datetime | None]:
        async with self.services.transaction() as session:
            found = await Accounts(session).by_token_hash(token_hash(credentials.token))
        if found is None:
            raise LunaError(AUTH_FAILED, "unknown token")
        token, account = found
        if token.expiration_time is not None and token.expiration_time <= utcnow():
            raise LunaError(AUTH_FAILED, "token expired")
        principal = Principal(account.account_id, account.account_type, "bearer", token.token_id)
        return principal, token.expiration_time

    def _remember(
        self, key: str, principal: Principal, now: float, expires: datetime | None
    ) -> None:
        ttl = self.settings.credential_cache_s
        if expires is not None:  # never trust a token past its expiry
            ttl = min(ttl, (expires - utcnow()).total_seconds())
        if ttl <= 0:
            return
        self._cache[key] = (principal, now + ttl)
        self._cache.move_to_end(key)
        while len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)

    def forget_token(self, hashed: str) -> None:
        """Drop a removed token from this replica's cache at once."""
        self._cache.pop("bearer:" + hashed, None)

    async def ensure_admin(self) -> None:
        """Create the configured first admin (``admin_login``/``admin_password``) once per
        process, or give it the configured password if it changed; the environment is the
        source of truth for this one account."""
        if self._admin_ready:
            return
        async with self._admin_lock:
            if self._admin_ready:
                return
            login, password = self.settings.admin_login, self.settings.admin_password
            if login and password:
                await self._ensure_admin(login, password)
            elif self.settings.enabled:
                log.warning(
                    "authentication is on and no admin is configured "
                    "(LUNA_ADMIN_LOGIN/LUNA_ADMIN_PASSWORD): only existing accounts can log in"
                )
            self._admin_ready = True

    async def _ensure_admin(self, login: str, password: str) -> None:
        async with self.services.transaction() as session:
            existing = await Accounts(session).by_login(login)
        if existing is not None:
            if existing.account_type != ADMIN:
                log.warning("configured admin login %r belongs to a %s account", login, USER)
            if not await asyncio.to_thread(verify_password, password, existing.password_hash):
                encoded = await asyncio.to_thread(hash_password, password)
                async with self.services.transaction() as session:
                    await Accounts(session).set_password(existing.account_id, encoded)
            return
        encoded = await asyncio.to_thread(hash_password, password)
        try:
            async with self.services.transaction() as session:
                account: Account = await Accounts(session).create(
                    login, encoded, ADMIN, "first admin", self.settings.admin_account_id
                )
            log.info("created admin account %s (%s)", account.account_id, login)
        except LoginTaken:
            pass  # another replica created it first


def websocket_authorization(scope: Scope) -> str | None:
    """The Authorization header value a WebSocket subscriber offered as a subprotocol
    (``luna.authorization.<base64url>``), if any; LUNA's 11065 when it does not decode."""
    for offered in scope.get("subprotocols") or ():
        if offered.startswith(WS_CREDENTIALS_PREFIX):
            encoded = offered.removeprefix(WS_CREDENTIALS_PREFIX)
            try:
                padding = "=" * (-len(encoded) % 4)
                raw = base64.b64decode(encoded + padding, altchars=b"-_", validate=True)
                return raw.decode("utf-8")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise LunaError(AUTH_FAILED, "malformed credentials subprotocol") from exc
    return None


def _public(path: str) -> bool:
    return path in PUBLIC_PATHS or (path.rstrip("/") + "/").startswith(PUBLIC_PREFIXES)


class AuthMiddleware:
    """Finds the principal of each HTTP or WebSocket request (pure ASGI, bodies stream
    through). Refuses, with LUNA's 11065 and 401, credentials that do not verify, and with
    authentication on, a request without credentials to any route but the public ones."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header = None
        for key, value in scope.get("headers", []):
            if key == b"authorization":
                header = value.decode("latin-1")
        try:
            if header is None and scope["type"] == "websocket":
                header = websocket_authorization(scope)
            if header is not None and header.strip():
                principal = await self.authenticator.authenticate(header)
                scope.setdefault("state", {})[PRINCIPAL_KEY] = principal
            elif self.authenticator.settings.enabled and not _public(scope["path"]):
                raise LunaError(AUTH_FAILED, "no credentials: use Basic or Bearer authorization")
        except LunaError as error:
            await _refuse(scope, send, error)
            return
        await self.app(scope, receive, send)


async def _refuse(scope: Scope, send: Send, error: LunaError) -> None:
    if scope["type"] == "websocket":
        # Before the handshake: the client sees the close code and the error in the reason.
        reason = f"{error.kind.code}: {error.body['detail']}"[:123]
        await send({"type": "websocket.close", "code": 1008, "reason": reason})
        return
    await send_error_body(send, error.status, error.body, [(b"www-authenticate", CHALLENGE)])

"""LUNA's HTTP conventions: request ids, account ids, error bodies, JSON or msgpack bodies,
content negotiation, one form of each path, and the request body limit; :func:`install`
also puts credentials (serve_app.http.auth) and overload bounds (serve_app.http.limits) in front of
every route."""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from collections.abc import Sequence
from typing import Any

import msgpack
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serve_app.errors import (
    ACCOUNT_ID_BAD,
    ACCOUNT_ID_REQUIRED,
    ACCOUNT_MISMATCH,
    BAD_INPUT_GENERIC,
    BAD_QUERY,
    BODY_TOO_LARGE,
    DATABASE_UNAVAILABLE,
    INTERNAL,
    METHOD_NOT_ALLOWED,
    PAGE_NOT_FOUND,
    QUEUE_FULL,
    UNACCEPTABLE,
    ErrorKind,
    LunaError,
    send_error_body,
)
from serve_app.http.auth import Authenticator, AuthMiddleware, principal_of
from serve_app.http.limits import ConcurrencyLimitMiddleware, RateLimitMiddleware
from serve_app.http.request_metrics import RequestMetricsMiddleware
from serve_app.http.timing import ServerTimingMiddleware, stage
from serve_app.settings import LimitSettings

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "Luna-Request-Id"
ACCOUNT_ID_HEADER = "Luna-Account-Id"
REQUEST_ID_PATTERN = re.compile(
    r"^[0-9]{10},[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}\Z"
)
UUID_PATTERN = re.compile(r"^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}\Z")
MSGPACK = "application/msgpack"
JSON = "application/json"
# What every LUNA answer body can be written as; routes serving files offer their own types.
BODY_TYPES = (JSON, MSGPACK)
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def new_request_id() -> str:
    """``<unix seconds>,<uuid4>``, LUNA's default request id."""
    return f"{int(time.time())},{uuid.uuid4()}"


def request_id_of(scope: Scope) -> str:
    """The request id this request answers with (set by the middleware)."""
    return scope.get("state", {}).get("request_id") or new_request_id()


class LunaProtocolMiddleware:
    """Gives every response a ``Luna-Request-Id`` and turns crashes into LUNA error 1.

    The header is the client's when it has LUNA's format, else a new one. Pure ASGI (no
    BaseHTTPMiddleware) so that request bodies stream through untouched.

    A path with a trailing slash is served as the path without it: clients that do not
    re-send a POST after a redirect would otherwise break on ``/1/handlers/``. A state change
    whose ``Accept`` admits neither JSON nor msgpack is refused before it runs, since its
    answer could not be read.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = ""
        for key, value in scope.get("headers", []):
            if key == b"luna-request-id":
                given = value.decode("latin-1").strip()
        request_id = given if REQUEST_ID_PATTERN.match(given) else new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        _strip_trailing_slash(scope)
        header = (b"luna-request-id", request_id.encode())
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [h for h in message.get("headers", []) if h[0].lower() != header[0]]
                message["headers"] = [*headers, header]
            await send(message)

        try:
            if scope["method"] in STATE_CHANGING:
                negotiate(_header(scope, b"accept"), BODY_TYPES)
            await self.app(scope, receive, send_with_id)
        except LunaError as exc:
            if started:
                raise
            await error_from(exc)(scope, receive, send_with_id)
        except Exception as exc:
            log.exception("request %s failed", request_id)
            if started:
                raise
            cause = database_down(exc)
            if cause is not None:  # temporary: the client may retry, and should know why
                response = error_from(LunaError(DATABASE_UNAVAILABLE, cause))
                response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
                await response(scope, receive, send_with_id)
                return
            await send_error_body(send_with_id, 500, INTERNAL.body())


DATABASE_RETRY_AFTER_S = 5
BUSY = "the service is busy; retry later"
_CONNECTION_ERRORS = (ConnectionError, TimeoutError, sa_exc.OperationalError, sa_exc.InterfaceError)


def database_down(exc: BaseException) -> str | None:
    """What made the database unreachable, when that is why ``exc`` was raised: a refused,
    reset or timed-out connection, or the driver saying so (asyncpg, SQLite locked)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        kind = type(current)
        asyncpg_connection = kind.__module__.startswith("asyncpg") and "Connect" in kind.__name__
        if isinstance(current, _CONNECTION_ERRORS) or asyncpg_connection:
            return kind.__name__
        current = current.__cause__ or current.__context__
    return None


class ProxyErrorBodyMiddleware:
    """Gives the HTTP proxy's own error answers LUNA's body: when the ingress replica dies
    mid-request (500) or its queue is full (``max_queued_requests``, 503), Ray Serve's proxy
    answers in plain text, which LUNA clients cannot parse. Answers of the app (JSON or
    msgpack, or any 2xx-4xx) pass untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        replaced: dict[str, Any] | None = None

        async def rewrite(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                kind = headers.get(b"content-type", b"").split(b";")[0].strip()
                status = message["status"]
                if status >= 500 and kind not in (b"application/json", b"application/msgpack"):
                    busy = status == 503
                    replaced = QUEUE_FULL.body(BUSY) if busy else INTERNAL.body()
                    kept = [
                        (key, value)
                        for key, value in message.get("headers", [])
                        if key.lower() in (b"luna-request-id", b"retry-after")
                    ]
                    await send_error_body(send, status, replaced, kept)
                    return
            elif replaced is not None:
                return  # the proxy's own text body is dropped
            await send(message)

        await self.app(scope, receive, rewrite)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def _strip_trailing_slash(scope: Scope) -> None:
    path: str = scope["path"]
    if len(path) > 1 and path.endswith("/"):
        scope["path"] = path.rstrip("/") or "/"
        raw = scope.get("raw_path")
        if raw:
            scope["raw_path"] = raw.rstrip(b"/") or b"/"


class BodyLimitMiddleware:
    """Refuses a request body over ``max_bytes`` with LUNA's size-limit error (413).

    A declared ``Content-Length`` over the limit is refused before anything is read. A body
    without one (chunked) is counted as it streams: once the limit is crossed the client gets
    the error and the app sees the client disconnect, so nothing past the limit is read.
    Pure ASGI, so it also fits in front of Ray Serve's HTTP proxy (:func:`proxy_middlewares`),
    which otherwise reads a whole upload into memory whatever the app does with it.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit():
            if int(declared) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            await self.app(scope, receive, send)  # the server holds the body to its length
            return
        seen = 0
        refused = False  # the client has our error; the app's answer is dropped
        started = False  # the app began its own answer, so ours cannot be sent

        async def counted() -> Message:
            nonlocal seen, refused
            if seen > self.max_bytes:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    if not started:
                        refused = True
                        await self._refuse(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = True
            await send(message)

        await self.app(scope, counted, guarded)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_from(LunaError(BODY_TOO_LARGE, self.max_bytes))
        # In front of the proxy the app never sees this request: the id is set here.
        given = (_header(scope, b"luna-request-id") or "").strip()
        response.headers[REQUEST_ID_HEADER] = (
            given if REQUEST_ID_PATTERN.match(given) else request_id_of(scope)
        )
        await response(scope, receive, send)


def proxy_middlewares() -> list[Middleware]:
    """Middlewares for Ray Serve's HTTP proxy (``RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH=
    serve_app.http.protocol:proxy_middlewares``): LUNA bodies for the proxy's own error answers,
    and the body limit, from ``LUNA_MAX_BODY_BYTES`` (default: the settings'
    ``limits.max_body_bytes`` default)."""
    limit = int(os.environ.get("LUNA_MAX_BODY_BYTES") or LimitSettings().max_body_bytes)
    return [Middleware(ProxyErrorBodyMiddleware), Middleware(BodyLimitMiddleware, max_bytes=limit)]


def account_id(request: Request) -> str:
    """The request's account: the authenticated one when the request carries credentials
    (a ``Luna-Account-Id`` naming another account is refused with LUNA's 11069), else the
    ``Luna-Account-Id`` header, required and in UUID format."""
    found = optional_account_id(request)
    if found is None:
        raise LunaError(ACCOUNT_ID_REQUIRED)
    return found


def optional_account_id(request: Request) -> str | None:
    """The request's account as :func:`account_id` finds it, or None when the request names
    none (no credentials and no ``Luna-Account-Id``)."""
    value = request.headers.get(ACCOUNT_ID_HEADER)
    named = None
    if value is not None and value.strip():
        named = value.strip().lower()
        if not UUID_PATTERN.match(named):
            raise LunaError(ACCOUNT_ID_BAD)
    principal = principal_of(request.scope)
    if principal is None:
        return named
    if named is not None and named != principal.account_id:
        raise LunaError(ACCOUNT_MISMATCH, "Luna-Account-Id header")
    return principal.account_id


def _accept_ranges(accept: str) -> list[tuple[str, float, int]]:
    """``(media range, quality, position)`` for each entry of an Accept header."""
    ranges = []
    for position, entry in enumerate(accept.split(",")):
        media, *params = (piece.strip() for piece in entry.split(";"))
        if not media:
            continue
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((media.lower(), quality, position))
    return ranges


def negotiate(accept: str | None, offered: Sequence[str]) -> str:
    """The type of ``offered`` that ``accept`` prefers; LUNA's 12023 (406) when it admits none.

    No Accept means the first offered type. Among admitted types the highest quality wins,
    then the most specific range (``a/b`` over ``a/*`` over ``*/*``), then the client's order.
    """
    if accept is None or not accept.strip():
        return offered[0]
    ranges = _accept_ranges(accept)
    best: tuple[float, int, int] | None = None
    chosen = None
    for media in offered:
        major = media.split("/")[0]
        # The most specific range naming a type sets its quality (RFC 9110, 12.5.1).
        matches = [
            (specificity, -position, quality)
            for pattern, quality, position in ranges
            for specificity, name in ((2, media), (1, f"{major}/*"), (0, "*/*"))
            if pattern == name
        ]
        if not matches:
            continue
        specificity, order, quality = max(matches)
        rank = (quality, specificity, order)
        if quality > 0 and (best is None or rank > best):
            best, chosen = rank, media
    if chosen is None:
        raise LunaError(UNACCEPTABLE, ", ".join(offered))
    return chosen


def respond(request: Request, payload: Any, status: int = 200) -> Response:
    """``payload`` as JSON, or as msgpack when the client's Accept prefers it."""
    with stage("encode"):
        if negotiate(request.headers.get("accept"), BODY_TYPES) == MSGPACK:
            packed = msgpack.packb(payload, use_bin_type=True)
            return Response(packed, status, media_type=MSGPACK)
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Response(body, status, media_type=JSON)


def created(request: Request, id_key: str, object_id: str, collection: str) -> Response:
    """201 for a new object: ``{<id_key>: id, url}`` and the url as ``Location``."""
    url = f"/1/{collection}/{object_id}"
    response = respond(request, {id_key: object_id, "url": url}, 201)
    response.headers["Location"] = url
    return response


def error_response(kind: ErrorKind, *args: Any, status: int | None = None) -> Response:
    """A LUNA error body with the kind's HTTP status."""
    return error_from(LunaError(kind, *args, status=status))


def error_from(exc: LunaError) -> Response:
    """The response for a raised :class:`LunaError` (always JSON, as LUNA answers errors)."""
    return Response(json.dumps(exc.body), exc.status, media_type=JSON)


def install(app: FastAPI) -> None:
    """Add the middlewares and LUNA's error bodies for every kind of failure to ``app``.

    Outermost first: the protocol (request ids, error bodies), the bound on requests in work
    (before anything costs work, a password hash included), authentication (its
    :class:`Authenticator` is ``app.state.authenticator``), then the per-account rate limit,
    which needs the authenticated account. The settings are those of ``app.state.services``.
    """
    services = app.state.services
    limits = services.settings.limits
    authenticator = Authenticator(services.settings.auth, services)
    app.state.authenticator = authenticator
    # add_middleware puts each one outside those added before it.
    if limits.rate_limit_rps > 0:
        app.add_middleware(
            RateLimitMiddleware, rate=limits.rate_limit_rps, burst=limits.rate_limit_burst
        )
    app.add_middleware(AuthMiddleware, authenticator=authenticator)
    # Inside the bounds: a request refused at once has no stages worth timing.
    app.add_middleware(ServerTimingMiddleware)
    if limits.max_concurrent_requests > 0:
        app.add_middleware(ConcurrencyLimitMiddleware, limit=limits.max_concurrent_requests)
    app.add_middleware(LunaProtocolMiddleware)
    # Outermost: every request counts, those refused by the bounds or auth included.
    app.add_middleware(RequestMetricsMiddleware)

    @app.exception_handler(LunaError)
    async def _luna(_: Request, exc: LunaError) -> Response:
        return error_from(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0]
        where, *rest = first.get("loc") or ("query",)
        name = ".".join(str(part) for part in rest) or str(where)
        if where == "header" and name.lower() == ACCOUNT_ID_HEADER.lower():
            missing = first.get("type") == "missing"
            return error_response(ACCOUNT_ID_REQUIRED if missing else ACCOUNT_ID_BAD)
        if where == "query":
            return error_response(BAD_QUERY, f"{name}: {first.get('msg', 'invalid value')}")
        if where == "path":  # e.g. an object id that is not a UUID: no such object
            return error_response(PAGE_NOT_FOUND)
        return error_response(BAD_INPUT_GENERIC, f"{name}: {first.get('msg', 'invalid value')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return error_response(PAGE_NOT_FOUND)
        if exc.status_code == 405:
            response = error_response(METHOD_NOT_ALLOWED)
            if exc.headers and "Allow" in exc.headers:
                response.headers["Allow"] = exc.headers["Allow"]
            return response
        return error_response(BAD_INPUT_GENERIC, str(exc.detail), status=exc.status_code)

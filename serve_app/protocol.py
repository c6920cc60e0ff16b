"""LUNA's HTTP conventions: request ids, account ids, error bodies, JSON or msgpack bodies."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

import msgpack
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serve_app.errors import (
    ACCOUNT_ID_BAD,
    ACCOUNT_ID_REQUIRED,
    BAD_INPUT_GENERIC,
    BAD_QUERY,
    INTERNAL,
    METHOD_NOT_ALLOWED,
    PAGE_NOT_FOUND,
    ErrorKind,
    LunaError,
)

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "Luna-Request-Id"
ACCOUNT_ID_HEADER = "Luna-Account-Id"
REQUEST_ID_PATTERN = re.compile(
    r"^[0-9]{10},[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}\Z"
)
UUID_PATTERN = re.compile(r"^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}\Z")
MSGPACK = "application/msgpack"


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
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("request %s failed", request_id)
            if started:
                raise
            body = json.dumps(INTERNAL.body()).encode()
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send_with_id({"type": "http.response.body", "body": body})


def account_id(request: Request) -> str:
    """The ``Luna-Account-Id`` header, required and in UUID format."""
    value = request.headers.get(ACCOUNT_ID_HEADER)
    if value is None or not value.strip():
        raise LunaError(ACCOUNT_ID_REQUIRED)
    value = value.strip().lower()
    if not UUID_PATTERN.match(value):
        raise LunaError(ACCOUNT_ID_BAD)
    return value


def wants_msgpack(request: Request) -> bool:
    """Whether the client asked for msgpack over JSON."""
    accept = request.headers.get("accept", "")
    return MSGPACK in accept and "application/json" not in accept.split(MSGPACK)[0]


def respond(request: Request, payload: Any, status: int = 200) -> Response:
    """``payload`` as JSON, or as msgpack when the client's Accept asks for it."""
    if wants_msgpack(request):
        return Response(msgpack.packb(payload, use_bin_type=True), status, media_type=MSGPACK)
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Response(body, status, media_type="application/json")


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
    """The response for a raised :class:`LunaError`."""
    return Response(json.dumps(exc.body), exc.status, media_type="application/json")


def install(app: FastAPI) -> None:
    """Add the middleware and LUNA's error bodies for every kind of failure to ``app``."""
    app.add_middleware(LunaProtocolMiddleware)

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

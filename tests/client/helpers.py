"""Mock services for the client's unit tests: httpx transports that answer from a script."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import msgpack

ACCOUNT = "b668c4a5-2191-476e-a261-3b4f9ce2e25e"
HANDLER_ID = "0c1e5c5e-3a4b-4d2e-9f10-2b3c4d5e6f70"


def luna_error(status: int, code: int, desc: str = "desc", detail: str = "detail", **headers):
    """A LUNA error answer."""
    body = {"error_code": code, "desc": desc, "detail": detail, "link": f"https://x/{code}"}
    return httpx.Response(
        status,
        json=body,
        headers={"Luna-Request-Id": "1700000000,00000000-0000-4000-8000-000000000000", **headers},
    )


def answer(payload: Any, status: int = 200, request: httpx.Request | None = None) -> httpx.Response:
    """A LUNA answer, in msgpack when the request's Accept asks for it."""
    accept = request.headers.get("accept", "") if request is not None else ""
    if "application/msgpack" in accept:
        return httpx.Response(
            status,
            content=msgpack.packb(payload, use_bin_type=True),
            headers={"Content-Type": "application/msgpack"},
        )
    return httpx.Response(status, content=json.dumps(payload).encode(), headers={"Content-Type": "application/json"})


class Script:
    """A transport answering each request with the next of ``answers`` (a response, an
    exception to raise, or a function of the request), recording the requests."""

    def __init__(self, answers: Sequence[httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]]):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        step = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(step, Exception):
            raise step
        if callable(step):
            return step(request)
        return step

    def sync(self) -> httpx.MockTransport:
        """As a transport of the sync client."""
        return httpx.MockTransport(self)

    def async_(self) -> httpx.MockTransport:
        """As a transport of the async client (MockTransport serves both)."""
        return httpx.MockTransport(self)

"""Where a request's time goes: stages timed as the request runs, sent back in a
``Server-Timing`` header (W3C Server Timing) on every response.

Code marks a stage with ``with stage("detect"):`` (or ``async with``); a stage entered several
times in one request adds up, and stages that run side by side (two estimators at once) each
count their own wall time. Outside a request (tests of plain modules, benchmarks) marking a
stage costs a context-variable lookup and records nothing. The header also carries ``total``,
the time from the request's arrival to its response's start.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
_current: ContextVar[dict[str, float] | None] = ContextVar("server_timing", default=None)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time the block as stage ``name`` of the current request (if any)."""
    stages = _current.get()
    if stages is None:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        stages[name] = stages.get(name, 0.0) + time.perf_counter() - start


def record(name: str, seconds: float) -> None:
    """Add ``seconds`` measured elsewhere (e.g. inside a deployment) to stage ``name``."""
    stages = _current.get()
    if stages is not None:
        stages[name] = stages.get(name, 0.0) + seconds


def timed(name: str) -> Callable[[F], F]:
    """Time every call of an async function as stage ``name``."""

    def wrap(function: F) -> F:
        @functools.wraps(function)
        async def timed_call(*args: Any, **kwargs: Any) -> Any:
            with stage(name):
                return await function(*args, **kwargs)

        return timed_call  # type: ignore[return-value]

    return wrap


def header_value(stages: dict[str, float], total: float) -> str:
    """``name;dur=<ms>, ..., total;dur=<ms>``, stages in the order they were first entered."""
    parts = [f"{name};dur={seconds * 1000:.1f}" for name, seconds in stages.items()]
    return ", ".join([*parts, f"total;dur={total * 1000:.1f}"])


def parse(value: str) -> dict[str, float]:
    """Stage durations in milliseconds from a ``Server-Timing`` header (for benchmarks)."""
    out: dict[str, float] = {}
    for part in value.split(","):
        name, _, rest = part.strip().partition(";dur=")
        if name and rest:
            out[name] = float(rest)
    return out


class ServerTimingMiddleware:
    """Collects the stages of each HTTP request and adds the ``Server-Timing`` header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        stages: dict[str, float] = {}
        token = _current.set(stages)
        arrived = time.perf_counter()

        async def send_with_timing(message: Message) -> None:
            if message["type"] == "http.response.start":
                value = header_value(stages, time.perf_counter() - arrived)
                message["headers"] = [
                    *message.get("headers", []),
                    (b"server-timing", value.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_timing)
        finally:
            _current.reset(token)

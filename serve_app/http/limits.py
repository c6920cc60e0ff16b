"""Overload bounds of the ingress: an overloaded service answers at once, never late.

Two pure-ASGI middlewares (bodies stream through), both per ingress replica:

* :class:`ConcurrencyLimitMiddleware`: at most ``max_concurrent_requests`` requests in work;
  one more gets LUNA's 2 "Queue request timeout" with 503 and ``Retry-After`` at once, instead
  of waiting behind the others while every latency grows.
* :class:`RateLimitMiddleware`: a token bucket per account (``rate_limit_rps`` refilled per
  second, up to ``rate_limit_burst``); a request finding it empty gets our 90001 with 429.
  The account is the authenticated one, else the ``Luna-Account-Id`` header, else the
  client's address.

Probes (``/version``, ``/healthcheck``) are never refused: an overloaded replica is alive.
"""

from __future__ import annotations

import math
import time

from starlette.types import ASGIApp, Receive, Scope, Send

from serve_app.errors import QUEUE_FULL, RATE_LIMITED, LunaError, send_error_body
from serve_app.http.auth import PUBLIC_PATHS, principal_of

# Buckets kept before idle (full again) ones are dropped: keys a client makes up (account
# headers, addresses) cannot grow memory without bound.
MAX_BUCKETS = 10_000


async def _refuse(send: Send, error: LunaError, retry_after_s: float) -> None:
    retry = str(max(1, math.ceil(retry_after_s))).encode()
    await send_error_body(send, error.status, error.body, [(b"retry-after", retry)])


class ConcurrencyLimitMiddleware:
    """Answers 503 (LUNA's 2) at once to a request arriving while ``limit`` others are in
    work. A request is in work until its answer is sent."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            detail = f"the service is working on {self.limit} requests, its limit; retry later"
            await _refuse(send, LunaError(QUEUE_FULL, detail), 1)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


class TokenBuckets:
    """One token bucket per key: ``rate`` tokens a second, at most ``burst`` kept."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def take(self, key: str, now: float | None = None) -> float:
        """Take a token for ``key``: 0.0 when there was one, else the seconds until one."""
        now = time.monotonic() if now is None else now
        tokens, at = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > MAX_BUCKETS:
                self._prune(now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        # A bucket that has refilled is as good as a new one: forgetting it changes nothing.
        full = [
            key
            for key, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)


def rate_key(scope: Scope) -> str:
    """Whose rate a request counts against: the authenticated account, the account the
    header names, or the client's address."""
    principal = principal_of(scope)
    if principal is not None:
        return f"account {principal.account_id}"
    for key, value in scope.get("headers", []):
        if key == b"luna-account-id" and value.strip():
            return f"account {value.decode('latin-1').strip().lower()}"
    client = scope.get("client")
    return f"client {client[0] if client else 'unknown'}"


class RateLimitMiddleware:
    """Answers 429 (our 90001) to a request over its account's rate. Placed after the
    authentication middleware, so that the account is the authenticated one."""

    def __init__(self, app: ASGIApp, rate: float, burst: int) -> None:
        self.app = app
        self.buckets = TokenBuckets(rate, burst or max(1, math.ceil(rate)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        key = rate_key(scope)
        wait = self.buckets.take(key)
        if wait > 0:
            burst = int(self.buckets.burst)
            await _refuse(send, LunaError(RATE_LIMITED, key, self.buckets.rate, burst), wait)
            return
        await self.app(scope, receive, send)

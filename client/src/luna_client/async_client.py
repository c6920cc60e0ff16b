"""The async client: :class:`AsyncLunaClient`, over ``httpx.AsyncClient``."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any

import httpx

from luna_client._async_api import AsyncOperations
from luna_client._core import Call, build_request, read
from luna_client._options import DEFAULT_TIMEOUT_S, DEFAULT_URL, http_options
from luna_client.retry import RetryPolicy


class AsyncLunaClient(AsyncOperations):
    """A LUNA Handlers API client for asyncio: every operation is awaited.

    ``account_id`` sends ``Luna-Account-Id``; ``token`` (bearer) or ``auth`` (login,
    password) authenticate. ``msgpack=True`` asks for msgpack answers where the service
    offers them (smaller and faster to decode; the models are the same). ``retry`` says how
    503 and 429 refusals are retried; ``transport`` replaces the network (e.g.
    ``httpx.MockTransport``), ``sleep`` the wait between tries. Use as an async context manager,
    or await :meth:`aclose`.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        account_id: str | None = None,
        token: str | None = None,
        auth: tuple[str, str] | None = None,
        msgpack: bool = False,
        retry: RetryPolicy | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT_S,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        options = http_options(
            base_url,
            account_id=account_id,
            token=token,
            auth=auth,
            timeout=timeout,
            headers=headers,
        )
        self.http = httpx.AsyncClient(transport=transport, **options)
        self.msgpack = msgpack
        self.retry = retry or RetryPolicy()
        self._sleep = sleep

    async def _send(self, c: Call) -> Any:
        for attempt in itertools.count(1):
            request = build_request(self.http, c, self.msgpack)
            try:
                response = await self.http.send(request, follow_redirects=c.follow_redirects)
            except httpx.TransportError as exc:
                wait = self.retry.wait_after_error(attempt, exc, c.route.idempotent)
                if wait is None:
                    raise
            else:
                wait = self.retry.wait_after_response(attempt, response, c.route.idempotent)
                if wait is None:
                    return read(c, response)
            await self._sleep(wait)
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        """Close the connections."""
        await self.http.aclose()

    async def __aenter__(self) -> AsyncLunaClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()


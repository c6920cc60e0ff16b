"""Requests counted and timed by route template, method and status (``luna_requests_total``,
``luna_request_seconds``)."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deployments import metrics


class RequestMetricsMiddleware:
    """Records every HTTP request once it has answered. The route is the matched template
    (``/1/handlers/{handler_id}``), never the raw path, so that ids do not make a series
    each; requests that match no route count as ``unmatched``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception that escapes every handler

        async def send_and_see(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_see)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            metrics.REQUESTS.inc(route=route, method=method, status=str(status))
            metrics.REQUEST_SECONDS.observe(
                time.perf_counter() - started, route=route, method=method
            )

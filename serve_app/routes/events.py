"""Stored events: list with filters, get one, and a WebSocket of new events (notifications)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, WebSocket, WebSocketDisconnect
from pydantic import AfterValidator
from starlette.responses import Response

from serve_app.errors import (
    ACCOUNT_ID_BAD,
    ACCOUNT_ID_REQUIRED,
    ACCOUNT_MISMATCH,
    BAD_QUERY,
    EVENT_NOT_FOUND,
    LunaError,
)
from serve_app.http import protocol
from serve_app.http.auth import WS_PROTOCOL, principal_of
from serve_app.http.protocol import respond
from serve_app.notifications import Subscription
from serve_app.routes.deps import AccountFilter, AccountScope, Page, ServicesDep
from serve_app.storage.events import EventFilters, EventStore
from serve_app.storage.tables import Event
from serve_app.views.objects import timestamp

router = APIRouter(tags=["events"])

EventId = Annotated[
    str,
    Path(pattern=r"^[a-fA-F0-9]{8}-([a-fA-F0-9]{4}-){3}[a-fA-F0-9]{12}$"),
    AfterValidator(str.lower),
]

# WebSocket close code for a refused subscription (RFC 6455: policy violation).
WS_POLICY_VIOLATION = 1008


def stored_event(row: Event) -> dict[str, Any]:
    """The event as stored: its body, with the account, handler and times LUNA's stored events
    carry (the columns are the source of truth for them)."""
    return {
        **row.body,
        "event_id": row.event_id,
        "account_id": row.account_id,
        "handler_id": row.handler_id,
        "create_time": timestamp(row.create_time),
        "end_time": timestamp(row.end_time),
    }


@router.get("/1/events", summary="get events")
async def list_events(
    request: Request,
    account_id: AccountFilter,
    services: ServicesDep,
    page: Annotated[Page, Query()],
    filters: Annotated[EventFilters, Query()],
) -> Response:
    """One page of the account's events (every account's when none is named) matching the
    filters, newest first, and how many match in all."""
    async with services.transaction() as session:
        store = EventStore(session, account_id)
        rows = await store.find(filters, page.offset, page.page_size)
        count = await store.count(filters)
    return respond(request, {"events": [stored_event(row) for row in rows], "count": count})


@router.get("/1/events/{event_id}", summary="get event")
async def get_event(
    request: Request, event_id: EventId, account_id: AccountScope, services: ServicesDep
) -> Response:
    """The event, as stored."""
    async with services.transaction() as session:
        row = await EventStore(session, account_id).get(event_id)
    if row is None:
        raise LunaError(EVENT_NOT_FOUND, event_id)
    return respond(request, stored_event(row))


def _ws_scope(websocket: WebSocket) -> tuple[str, str | None]:
    """The account (header, else ``account_id`` query: browsers cannot set WebSocket headers)
    and the optional ``handler_id`` filter of a subscription."""
    header = websocket.headers.get(protocol.ACCOUNT_ID_HEADER, "").strip().lower()
    query = websocket.query_params.get("account_id", "").strip().lower()
    if header and query and header != query:
        raise LunaError(BAD_QUERY, "account_id: differs from the Luna-Account-Id header")
    account_id = header or query
    principal = principal_of(websocket.scope)
    if principal is not None:  # credentials decide the account; naming another is refused
        if account_id and account_id != principal.account_id:
            raise LunaError(ACCOUNT_MISMATCH, "account_id")
        account_id = principal.account_id
    if not account_id:
        raise LunaError(ACCOUNT_ID_REQUIRED)
    if not protocol.UUID_PATTERN.match(account_id):
        raise LunaError(ACCOUNT_ID_BAD)
    handler_id = websocket.query_params.get("handler_id", "").strip().lower() or None
    if handler_id is not None and not protocol.UUID_PATTERN.match(handler_id):
        raise LunaError(BAD_QUERY, "handler_id: not a UUID")
    return account_id, handler_id


async def _refuse(websocket: WebSocket, error: LunaError) -> None:
    # Before the handshake completes: the client sees the close code and the LUNA error code
    # and detail in the reason (a close reason holds at most 123 bytes).
    reason = f"{error.kind.code}: {error.body['detail']}"
    await websocket.close(WS_POLICY_VIOLATION, reason.encode()[:123].decode(errors="ignore"))


async def _send_until_closed(websocket: WebSocket, subscription: Subscription) -> None:
    """Send each queued event body as a JSON text message until the client goes away."""

    async def closed() -> None:
        # Reading is the only way to learn that the client left while no event comes.
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    watcher = asyncio.create_task(closed())
    try:
        while True:
            message = asyncio.create_task(subscription.queue.get())
            done, _ = await asyncio.wait({message, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if message not in done:
                message.cancel()
                return
            text = json.dumps(message.result(), ensure_ascii=False, separators=(",", ":"))
            await websocket.send_text(text)
    except (WebSocketDisconnect, RuntimeError):
        # RuntimeError: Starlette's answer to sending on a socket that closed meanwhile.
        return
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await watcher


@router.websocket("/1/ws")
async def events_socket(websocket: WebSocket) -> None:
    """New events of the account (of one handler with ``?handler_id=``) as JSON messages, as
    their handlers' ``notification_policy`` asks. Credentials come in the Authorization header
    or, from browsers, as a subprotocol (:func:`serve_app.http.auth.websocket_authorization`)."""
    services = websocket.app.state.services
    try:
        account_id, handler_id = _ws_scope(websocket)
    except LunaError as error:
        await _refuse(websocket, error)
        return
    # Listening for the other replicas' events before accepting: once the client is
    # connected, an event published anywhere reaches it.
    await services.fanout.start()
    offered = websocket.scope.get("subprotocols") or ()
    await websocket.accept(subprotocol=WS_PROTOCOL if WS_PROTOCOL in offered else None)
    with services.notifier.subscription(account_id, handler_id) as subscription:
        await _send_until_closed(websocket, subscription)

"""Fan-out of event notifications across ingress replicas (docs/shared-state.md).

A WebSocket subscriber is connected to one ingress replica, while the event it waits for may
be made by any replica. Every replica publishes through a :class:`Fanout`; the fan-out hands
the event to this replica's :class:`EventHub` at once and, when there are other replicas, to
theirs, each of which delivers it to its own subscribers.

- :class:`LocalFanout`: this replica only (one replica, SQLite: the embedded default).
- :class:`PostgresFanout`: PostgreSQL's ``LISTEN``/``NOTIFY`` on the service's own database;
  every replica listens on one channel. A replica skips its own notifications (it delivered
  them already). A ``NOTIFY`` payload holds under 8000 bytes, so larger event bodies travel
  in numbered parts that the listeners put together again.

Delivery is at most once, as within one replica: a replica that is disconnected from the
database while an event is published does not get it (stored events stay readable with
``GET /1/events``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from abc import ABC, abstractmethod
from collections import deque
from typing import Any

from sqlalchemy.engine import make_url

from serve_app.notifications import EventHub
from serve_app.settings import Settings

log = logging.getLogger(__name__)


class Fanout(ABC):
    """Publishes event bodies to the subscribers of every ingress replica."""

    def __init__(self, hub: EventHub) -> None:
        self.hub = hub

    @abstractmethod
    def publish(self, account_id: str, handler_id: str | None, body: dict[str, Any]) -> None:
        """Deliver to this replica's subscribers now and send to the other replicas; never
        blocks (call it from the event loop's thread)."""

    async def start(self) -> None:
        """Begin receiving the other replicas' events (idempotent); called before a
        WebSocket subscription is accepted, so that once it is, nothing published later is
        missed."""
        return None

    async def close(self) -> None:
        """Send what is still queued (briefly) and stop."""
        return None


class LocalFanout(Fanout):
    """This replica's subscribers only."""

    def publish(self, account_id: str, handler_id: str | None, body: dict[str, Any]) -> None:
        self.hub.publish(account_id, handler_id, body)


CHANNEL = "luna_events"
# NOTIFY refuses payloads of 8000 bytes or more; a part's header takes under 100 of them.
PART_CHARS = 7800
SEND_BATCH = 200  # parts sent in one statement
MAX_QUEUED_PARTS = 100_000  # beyond it (a long outage) the oldest parts are dropped
PARTIAL_TIMEOUT_S = 60.0  # a message whose parts stop arriving is forgotten after this
RECONNECT_S = (0.5, 1.0, 2.0, 5.0)
# The connections' application_name: they are told apart in pg_stat_activity.
LISTENER_NAME = "luna-events-listener"
SENDER_NAME = "luna-events-sender"


def asyncpg_dsn(database_url: str) -> str:
    """The asyncpg DSN of a SQLAlchemy ``postgresql+asyncpg://`` URL."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


class PostgresFanout(Fanout):
    """``LISTEN``/``NOTIFY`` on channel ``luna_events`` of the service's PostgreSQL database:
    one connection listens (opened by :meth:`start`, reopened after a loss), another sends
    the queued notifications in batches (opened on the first publish)."""

    def __init__(self, hub: EventHub, dsn: str, channel: str = CHANNEL) -> None:
        super().__init__(hub)
        self.dsn = dsn
        self.channel = channel
        self.origin = uuid.uuid4().hex  # this replica, in every part it sends
        self.dropped = 0  # parts dropped unsent (queue full) or left incomplete
        self._sequence = 0
        self._queue: deque[str] = deque()
        self._wake = asyncio.Event()
        self._sender: asyncio.Task | None = None
        self._listener: asyncio.Task | None = None
        self._listening = asyncio.Event()
        self._start_lock = asyncio.Lock()
        self._partial: dict[str, tuple[float, list[str | None]]] = {}
        self._closed = False

    # Sending.

    def publish(self, account_id: str, handler_id: str | None, body: dict[str, Any]) -> None:
        self.hub.publish(account_id, handler_id, body)
        if self._closed:
            return
        # ASCII JSON: its characters are its bytes, so parts are cut by length.
        message = json.dumps({"a": account_id, "h": handler_id, "b": body}, separators=(",", ":"))
        self._sequence += 1
        parts = [message[i : i + PART_CHARS] for i in range(0, len(message), PART_CHARS)]
        key = f"{self.origin}:{self._sequence}"
        for index, part in enumerate(parts):
            self._queue.append(f"{key} {index} {len(parts)} {part}")
        while len(self._queue) > MAX_QUEUED_PARTS:
            self._queue.popleft()
            self.dropped += 1
        self._wake.set()
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_loop())

    async def _send_loop(self) -> None:
        connection = None
        failures = 0
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._queue:
                    try:
                        if connection is None or connection.is_closed():
                            connection = await _connect(self.dsn, SENDER_NAME)
                        await self._send(connection)
                        failures = 0
                    except asyncio.CancelledError:
                        raise
                    except Exception as error:
                        if connection is not None and not connection.is_closed():
                            # The database refused the batch on a live connection: sending
                            # it again would fail again and hold back every later event.
                            self._drop_batch(error)
                            continue
                        # The parts stay queued (bounded) and go out once the database is back.
                        log.warning("sending event notifications failed (%r); retrying", error)
                        connection = await _close_quietly(connection)
                        await asyncio.sleep(RECONNECT_S[min(failures, len(RECONNECT_S) - 1)])
                        failures += 1
        finally:
            await _close_quietly(connection)

    async def _send(self, connection: Any) -> None:
        """Send up to a batch of queued parts in one statement (one transaction: they are
        delivered in order); they leave the queue only once sent."""
        batch = [self._queue[i] for i in range(min(len(self._queue), SEND_BATCH))]
        await connection.execute(
            "SELECT pg_notify($1, part) FROM unnest($2::text[]) AS part", self.channel, batch
        )
        for _ in batch:
            self._queue.popleft()

    def _drop_batch(self, error: BaseException) -> None:
        count = min(len(self._queue), SEND_BATCH)
        for _ in range(count):
            self._queue.popleft()
        self.dropped += count
        log.error("the database refused %d event notification parts (%r); dropped", count, error)

    # Receiving.

    async def start(self) -> None:
        if self._listener is None or self._listener.done():
            async with self._start_lock:
                if self._listener is None or self._listener.done():
                    self._listener = asyncio.get_running_loop().create_task(self._listen_loop())
        # The first subscriber waits briefly for the listener; with the database down it is
        # accepted anyway and gets this replica's events until the listener is back.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), 10)

    async def _listen_loop(self) -> None:
        failures = 0
        while True:
            connection = None
            lost = asyncio.Event()
            try:
                connection = await _connect(self.dsn, LISTENER_NAME)
                connection.add_termination_listener(lambda _, event=lost: event.set())
                await connection.add_listener(self.channel, self._on_notification)
                self._listening.set()
                failures = 0
                while not lost.is_set() and not connection.is_closed():
                    # Polls as well: a connection that dies quietly may never call back.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), 5)
                    if not lost.is_set():
                        await connection.execute("SELECT 1")
                log.warning("lost the event notification connection; reconnecting")
            except asyncio.CancelledError:
                await _close_quietly(connection)
                raise
            except Exception as error:
                log.warning("listening for event notifications failed (%r); retrying", error)
            self._listening.clear()
            await _close_quietly(connection)
            await asyncio.sleep(RECONNECT_S[min(failures, len(RECONNECT_S) - 1)])
            failures += 1

    def _on_notification(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            key, index, total, part = payload.split(" ", 3)
            if key.startswith(self.origin + ":"):
                return  # published here, and delivered here when it was
            message = self._assemble(key, int(index), int(total), part)
            if message is None:
                return
            data = json.loads(message)
            self.hub.publish(data["a"], data["h"], data["b"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed event notification (%d chars)", len(payload))

    def _assemble(self, key: str, index: int, total: int, part: str) -> str | None:
        """The whole message once its last part is in; None until then."""
        if total == 1:
            return part
        now = time.monotonic()
        for stale in [k for k, (t, _) in self._partial.items() if now - t > PARTIAL_TIMEOUT_S]:
            del self._partial[stale]
            self.dropped += 1
        _, parts = self._partial.setdefault(key, (now, [None] * total))
        parts[index] = part
        if any(p is None for p in parts):
            return None
        del self._partial[key]
        return "".join(p for p in parts if p is not None)

    async def close(self) -> None:
        self._closed = True
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._sender is not None:
            # Events published while the replica stopped (its final flush) still go out.
            deadline = time.monotonic() + 5
            while self._queue and not self._sender.done() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender


async def _connect(dsn: str, name: str) -> Any:
    import asyncpg  # the postgres extra: present wherever the database is PostgreSQL

    return await asyncpg.connect(dsn, timeout=10, server_settings={"application_name": name})


async def _close_quietly(connection: Any) -> None:
    if connection is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.close(), 5)
    return None


def build_fanout(settings: Settings, hub: EventHub) -> Fanout:
    """The fan-out the settings name (``auto``: PostgreSQL's when the database is)."""
    mode = settings.notifications.fanout
    url = settings.resolved_database_url
    postgres = make_url(url).get_backend_name() == "postgresql"
    if mode == "postgres" and not postgres:
        raise ValueError("notifications.fanout: postgres needs a PostgreSQL database_url")
    if mode == "postgres" or (mode == "auto" and postgres):
        return PostgresFanout(hub, asyncpg_dsn(url))
    return LocalFanout(hub)

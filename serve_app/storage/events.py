"""Stored events: writing them (now or batched, LUNA's ``wait_saving``) and reading them back.

:class:`EventStore` works in one session and one account. :class:`EventWriter` owns the
transactions: ``save(events, wait=True)`` returns once the events are committed;
``save(events, wait=False)`` buffers them for a background task that writes batches. After
events are committed, those marked ``notify`` are published to WebSocket subscribers (through
the fan-out to every ingress replica, serve_app.fanout).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, field_validator
from sqlalchemy import Select, func, insert, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from deployments import metrics
from serve_app.notifications import Publisher
from serve_app.storage.store import Storage
from serve_app.storage.tables import Event, EventTag

log = logging.getLogger(__name__)


@dataclass
class NewEvent:
    """An event to store: its JSON ``body`` and the values of the filtered columns.

    ``notify``: publish the event to WebSocket subscribers once it is stored (the pipeline
    sets it from the handler's ``notification_policy``).
    """

    event_id: str
    account_id: str
    body: dict[str, Any]
    create_time: datetime
    end_time: datetime
    handler_id: str | None = None
    external_id: str = ""
    user_data: str = ""
    source: str = ""
    track_id: str | None = None
    face_id: str | None = None
    gender: int | None = None
    age: int | None = None
    tags: list[str] = field(default_factory=list)
    descriptor: bytes | None = None
    descriptor_version: int | None = None
    notify: bool = False

    @classmethod
    def from_body(
        cls,
        account_id: str,
        body: dict[str, Any],
        create_time: datetime,
        end_time: datetime,
        *,
        handler_id: str | None = None,
        descriptor: bytes | None = None,
        descriptor_version: int | None = None,
        notify: bool = False,
    ) -> NewEvent:
        """A new event whose columns are read from a LUNA event ``body`` (``event_id``,
        ``external_id``, ``user_data``, ``source``, ``track_id``, ``tags``, ``face.face_id``,
        ``face_attributes.basic_attributes.{age, gender}``), so they cannot disagree with it.
        """
        face = body.get("face") or {}
        basic = (body.get("face_attributes") or {}).get("basic_attributes") or {}
        age, gender = basic.get("age"), basic.get("gender")
        return cls(
            event_id=body["event_id"],
            account_id=account_id,
            body=body,
            create_time=create_time,
            end_time=end_time,
            handler_id=handler_id,
            external_id=body.get("external_id") or "",
            user_data=body.get("user_data") or "",
            source=body.get("source") or "",
            track_id=body.get("track_id"),
            face_id=face.get("face_id"),
            gender=None if gender is None else round(gender),
            age=None if age is None else round(age),
            tags=list(body.get("tags") or []),
            descriptor=descriptor,
            descriptor_version=descriptor_version,
            notify=notify,
        )

    def row(self) -> dict[str, Any]:
        """The ``events`` row."""
        return {
            "event_id": self.event_id,
            "account_id": self.account_id,
            "handler_id": self.handler_id,
            "face_id": self.face_id,
            "external_id": self.external_id,
            "user_data": self.user_data,
            "source": self.source,
            "track_id": self.track_id,
            "gender": self.gender,
            "age": self.age,
            "create_time": self.create_time,
            "end_time": self.end_time,
            "descriptor": self.descriptor,
            "descriptor_version": self.descriptor_version,
            "body": self.body,
        }


def _split(value: Any) -> Any:
    # LUNA sends list query parameters comma-separated (``tags=a,b``); repeating the
    # parameter (``tags=a&tags=b``) works too.
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [part.strip() for item in value for part in item.split(",") if part.strip()]
    return value


class EventFilters(BaseModel):
    """Filters of the events read API. Every one is served by an index (see tables.py)."""

    handler_id: str | None = Field(None, max_length=36)
    create_time__gte: AwareDatetime | None = None
    create_time__lt: AwareDatetime | None = None
    external_id: str | None = Field(None, max_length=36)
    face_id: str | None = Field(None, max_length=36)
    track_id: str | None = Field(None, max_length=36)
    source: str | None = Field(None, max_length=128)
    tags: list[str] | None = Field(
        None, max_length=100, description="comma-separated: events having any of these tags"
    )
    gender: int | None = Field(None, ge=0, le=1)
    age__gte: int | None = Field(None, ge=0, le=200)
    age__lt: int | None = Field(None, ge=0, le=201)

    _tags = field_validator("tags", mode="before")(_split)

    @field_validator("handler_id", "face_id")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        # Ids are stored in lower case, as every route stores UUIDs.
        return value.lower() if value is not None else None


class EventStore:
    """The events of one account, in one session. With ``account_id`` None, the events of
    every account, for :meth:`find` and :meth:`count` only."""

    def __init__(self, session: AsyncSession, account_id: str | None) -> None:
        self.session = session
        self.account_id = account_id

    def _owner(self) -> str:
        if self.account_id is None:
            raise ValueError("an EventStore of all accounts is for finds and counts")
        return self.account_id

    async def create_many(self, events: Sequence[NewEvent]) -> None:
        """Insert ``events`` (all of this account) and their tags, in the session's transaction."""
        owner = self._owner()
        if not events:
            return
        if stray := [e.event_id for e in events if e.account_id != owner]:
            raise ValueError(f"events {stray} belong to another account than {self.account_id}")
        # Executemany inserts: one round trip per table, whatever the batch size.
        await self.session.execute(insert(Event), [e.row() for e in events])
        tags = [
            {"event_id": e.event_id, "tag": tag} for e in events for tag in dict.fromkeys(e.tags)
        ]
        if tags:
            await self.session.execute(insert(EventTag), tags)

    async def get(self, event_id: str) -> Event | None:
        """The event, if it exists in this account."""
        query = select(Event).where(Event.event_id == event_id, Event.account_id == self._owner())
        return (await self.session.execute(query)).scalar_one_or_none()

    def _query(self, filters: EventFilters) -> Select:
        query = select(Event)
        if self.account_id is not None:
            query = query.where(Event.account_id == self.account_id)
        equal = {
            Event.handler_id: filters.handler_id,
            Event.external_id: filters.external_id,
            Event.face_id: filters.face_id,
            Event.track_id: filters.track_id,
            Event.source: filters.source,
            Event.gender: filters.gender,
        }
        for column, value in equal.items():
            if value is not None:
                query = query.where(column == value)
        if filters.create_time__gte is not None:
            query = query.where(Event.create_time >= filters.create_time__gte)
        if filters.create_time__lt is not None:
            query = query.where(Event.create_time < filters.create_time__lt)
        if filters.age__gte is not None:
            query = query.where(Event.age >= filters.age__gte)
        if filters.age__lt is not None:
            query = query.where(Event.age < filters.age__lt)
        if filters.tags:
            tagged = select(EventTag.event_id).where(EventTag.tag.in_(filters.tags))
            query = query.where(Event.event_id.in_(tagged))
        return query

    async def find(self, filters: EventFilters, offset: int, limit: int) -> list[Event]:
        """One page of matching events, newest first."""
        query = self._query(filters).order_by(Event.create_time.desc(), Event.event_id.desc())
        return list((await self.session.execute(query.offset(offset).limit(limit))).scalars())

    async def count(self, filters: EventFilters) -> int:
        """How many events match."""
        query = select(func.count()).select_from(self._query(filters).subquery())
        return int((await self.session.execute(query)).scalar_one())


def _by_account(events: Iterable[NewEvent]) -> dict[str, list[NewEvent]]:
    groups: dict[str, list[NewEvent]] = {}
    for event in events:
        groups.setdefault(event.account_id, []).append(event)
    return groups


class EventWriter:
    """Writes events with LUNA's ``wait_saving`` semantics and publishes them once stored.

    ``wait=True``: one transaction, committed before ``save`` returns (an answered 201 means
    the events are in the database). ``wait=False``: the events join an in-memory buffer that
    a background task writes every ``flush_interval_s``, or sooner once ``max_batch`` events
    wait, in transactions of at most ``max_batch`` events. A batch that fails for a database
    outage goes back to the head of the buffer and is retried on the next tick; a batch the
    database refuses for its content is written event by event and the refused ones are
    logged and dropped (retrying them would block every later event). Events buffered but not
    yet written are lost if the process dies (docs/events.md). Beyond ``max_pending``
    buffered events, ``save`` writes at once instead: memory stays bounded and the caller
    feels the back-pressure.
    """

    def __init__(
        self,
        storage: Storage,
        notifier: Publisher,
        flush_interval_s: float = 1.0,
        max_batch: int = 500,
        max_pending: int = 50_000,
    ) -> None:
        if flush_interval_s <= 0 or max_batch < 1 or max_pending < max_batch:
            raise ValueError("need flush_interval_s > 0 and 1 <= max_batch <= max_pending")
        self.storage = storage
        self.notifier = notifier
        self.flush_interval_s = flush_interval_s
        self.max_batch = max_batch
        self.max_pending = max_pending
        self.dropped = 0  # events the database refused in a background flush
        self._buffer: deque[NewEvent] = deque()
        self._flush_lock = asyncio.Lock()
        self._full = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._closed = False

    @property
    def pending(self) -> int:
        """Events buffered and not yet written."""
        return len(self._buffer)

    async def save(self, events: Sequence[NewEvent], wait: bool = True) -> None:
        """Store ``events``: committed before returning when ``wait``, else buffered."""
        if not events:
            return
        if wait or self._closed or len(self._buffer) + len(events) > self.max_pending:
            await self._write(events)
            metrics.EVENTS_STORED.inc(len(events))
            self._publish(events)
            return
        self._buffer.extend(events)
        self._ensure_task()
        if len(self._buffer) >= self.max_batch:
            self._full.set()

    async def flush(self) -> int:
        """Write everything buffered now; returns how many events were written.

        Raises the database's error when a batch cannot be written for an outage; the events
        of that batch not yet written, and the batches after it, stay buffered in order.
        """
        written = 0
        async with self._flush_lock:
            while self._buffer:
                batch = [self._buffer.popleft() for _ in range(min(self.max_batch, self.pending))]
                stored = await self._write_batch(batch)
                metrics.EVENTS_STORED.inc(len(stored))
                self._publish(stored)
                written += len(stored)
        return written

    async def close(self) -> None:
        """Stop the background task and write what is buffered (later saves write at once)."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self.flush()
        except Exception:
            log.exception("closing: %d buffered events could not be written", self.pending)
            raise

    def _ensure_task(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush_loop())

    async def _flush_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), self.flush_interval_s)
            self._full.clear()
            try:
                await self.flush()
            except Exception:  # an outage must not end flushing for good: retry next tick
                log.exception("writing %d buffered events failed; retrying", self.pending)

    async def _write(self, events: Sequence[NewEvent]) -> None:
        storage = await self.storage.ready()
        async with storage.database.transaction() as session:
            for account_id, group in _by_account(events).items():
                await EventStore(session, account_id).create_many(group)

    async def _write_batch(self, batch: list[NewEvent]) -> list[NewEvent]:
        """Write a batch in one transaction; the events stored.

        When the database refuses the batch for its content (a duplicate id, a value too
        long), its events are written one by one and the refused ones logged and dropped:
        retrying them would block every later event. On any other error (an outage) the
        events not written go back to the head of the buffer and the error is raised.
        """
        try:
            await self._write(batch)
            return batch
        except (IntegrityError, DataError):
            log.warning("a batch of %d events was refused; writing them one by one", len(batch))
        except BaseException:
            self._buffer.extendleft(reversed(batch))
            raise
        stored: list[NewEvent] = []
        for index, event in enumerate(batch):
            try:
                await self._write([event])
            except (IntegrityError, DataError):
                log.exception("event %s refused by the database; dropped", event.event_id)
                self.dropped += 1
            except BaseException:
                self._buffer.extendleft(reversed(batch[index:]))
                self._publish(stored)
                raise
            else:
                stored.append(event)
        return stored

    def _publish(self, events: Iterable[NewEvent]) -> None:
        for event in events:
            if event.notify:
                self.notifier.publish(event.account_id, event.handler_id, event.body)

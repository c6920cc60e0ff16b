"""Stored events: writer (wait_saving), read API with every filter, notifications over a
WebSocket; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgpack
import pytest
from sqlalchemy.exc import OperationalError

from serve_app.app import create_app
from serve_app.notifications import EventHub
from serve_app.storage.events import EventWriter, NewEvent
from tests.api.helpers import AsgiWebSocket, assert_luna_error
from tests.conftest import new_account

HANDLER_A = "11111111-1111-4111-8111-111111111111"
HANDLER_B = "22222222-2222-4222-8222-222222222222"


def headers(account: str) -> dict[str, str]:
    return {"Luna-Account-Id": account}


def new_event(
    account: str,
    handler_id: str | None = HANDLER_A,
    create_time: datetime | None = None,
    *,
    face_id: str | None = None,
    age: int | None = None,
    gender: int | None = None,
    tags: tuple[str, ...] = (),
    notify: bool = False,
    **fields: Any,
) -> NewEvent:
    """A new event with a LUNA-shaped body, its columns read from that body."""
    create_time = create_time or datetime.now(UTC)
    body: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "url": "",
        "external_id": fields.get("external_id", ""),
        "user_data": fields.get("user_data", ""),
        "source": fields.get("source", ""),
        "track_id": fields.get("track_id"),
        "tags": list(tags),
        "face": {"face_id": face_id} if face_id else None,
        "face_attributes": (
            {"basic_attributes": {"age": age, "gender": gender}} if age is not None else None
        ),
        "detections": [],
        "matches": [],
    }
    return NewEvent.from_body(
        account,
        body,
        create_time,
        create_time + timedelta(seconds=1),
        handler_id=handler_id,
        descriptor=b"\x00" * 8,
        descriptor_version=59,
        notify=notify,
    )


async def event_ids(client, account: str, **params: Any) -> tuple[list[str], int]:
    response = await client.get("/1/events", params=params, headers=headers(account))
    assert response.status_code == 200, response.text
    body = response.json()
    return [event["event_id"] for event in body["events"]], body["count"]


async def readable(client, account: str, event_id: str) -> bool:
    response = await client.get(f"/1/events/{event_id}", headers=headers(account))
    assert response.status_code in (200, 404), response.text
    return response.status_code == 200


async def eventually(condition, timeout_s: float = 10.0) -> None:
    """Wait until the async ``condition`` holds (background flushes take a moment)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_every_filter_and_paging_newest_first(db_client, backend_services):
    account = new_account()
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    at = [base + timedelta(minutes=i) for i in range(5)]
    face_1, face_2 = str(uuid.uuid4()), str(uuid.uuid4())
    events = [
        new_event(account, HANDLER_A, at[0], face_id=face_1, age=30, gender=1,
                  tags=("adult", "vip", "vip"), external_id="ext-1", source="cam-1",
                  track_id="t1", user_data="first"),
        new_event(account, HANDLER_A, at[1], age=17, gender=0, tags=("minor",),
                  external_id="ext-2", source="cam-2", track_id="t2"),
        new_event(account, HANDLER_B, at[2], face_id=face_2, age=45, gender=0,
                  tags=("adult",), external_id="ext-1", source="cam-1", track_id="t1"),
        new_event(account, HANDLER_B, at[3]),
        new_event(account, HANDLER_A, at[4], age=18, gender=1, tags=("vip",)),
    ]  # fmt: skip
    await backend_services.event_writer.save(events, wait=True)
    e0, e1, e2, e3, e4 = (e.event_id for e in events)

    def iso(moment: datetime) -> str:
        return moment.isoformat().replace("+00:00", "Z")

    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({}, [e4, e3, e2, e1, e0]),
        ({"handler_id": HANDLER_A}, [e4, e1, e0]),
        ({"handler_id": HANDLER_B.upper()}, [e3, e2]),
        ({"create_time__gte": iso(at[1]), "create_time__lt": iso(at[3])}, [e2, e1]),
        ({"create_time__gte": iso(at[4])}, [e4]),
        ({"create_time__lt": iso(at[0])}, []),
        ({"external_id": "ext-1"}, [e2, e0]),
        ({"face_id": face_1}, [e0]),
        ({"track_id": "t1"}, [e2, e0]),
        ({"source": "cam-2"}, [e1]),
        ({"tags": "vip,minor"}, [e4, e1, e0]),
        ({"tags": ["vip", "minor"]}, [e4, e1, e0]),
        ({"tags": "adult"}, [e2, e0]),
        ({"tags": "nobody"}, []),
        ({"gender": 0}, [e2, e1]),
        ({"age__gte": 18}, [e4, e2, e0]),
        ({"age__lt": 18}, [e1]),
        ({"age__gte": 18, "age__lt": 45}, [e4, e0]),
        ({"handler_id": HANDLER_A, "gender": 1, "tags": "vip"}, [e4, e0]),
    ]
    for params, expected in cases:
        assert await event_ids(db_client, account, **params) == (expected, len(expected)), params

    pages = [await event_ids(db_client, account, page=n, page_size=2) for n in (1, 2, 3, 4)]
    assert pages == [([e4, e3], 5), ([e2, e1], 5), ([e0], 5), ([], 5)]

    response = await db_client.get(f"/1/events/{e0}", headers=headers(account))
    assert response.status_code == 200, response.text
    stored = response.json()
    assert stored == {
        **events[0].body,
        "account_id": account,
        "handler_id": HANDLER_A,
        "create_time": iso(at[0]).replace("Z", ".000000Z"),
        "end_time": iso(at[0] + timedelta(seconds=1)).replace("Z", ".000000Z"),
    }
    assert stored["face"]["face_id"] == face_1 and stored["user_data"] == "first"

    packed = await db_client.get(
        "/1/events", params={"face_id": face_2},
        headers={**headers(account), "Accept": "application/msgpack"},
    )  # fmt: skip
    assert packed.headers["content-type"] == "application/msgpack"
    assert [e["event_id"] for e in msgpack.unpackb(packed.content)["events"]] == [e2]


async def test_events_of_another_account_are_invisible(db_client, backend_services):
    owner, other = new_account(), new_account()
    event = new_event(owner, tags=("vip",))
    await backend_services.event_writer.save([event], wait=True)

    assert await event_ids(db_client, other) == ([], 0)
    assert await event_ids(db_client, other, tags="vip") == ([], 0)
    response = await db_client.get(f"/1/events/{event.event_id}", headers=headers(other))
    assert_luna_error(response, 23001, 404)
    # The account_id query is the account when no header is sent.
    response = await db_client.get(
        f"/1/events/{event.event_id}", params={"account_id": owner}, headers={"Luna-Account-Id": ""}
    )
    assert response.status_code == 200, response.text
    missing = await db_client.get(f"/1/events/{uuid.uuid4()}", headers=headers(owner))
    assert_luna_error(missing, 23001, 404)


async def test_bad_filters_get_luna_query_errors(db_client):
    account = new_account()
    for params in (
        {"create_time__gte": "2024-01-01T00:00:00"},  # no time zone
        {"create_time__lt": "yesterday"},
        {"gender": 2},
        {"age__gte": -1},
        {"page_size": 0},
    ):
        response = await db_client.get("/1/events", params=params, headers=headers(account))
        assert_luna_error(response, 12012, 400)
    response = await db_client.get("/1/events/not-a-uuid", headers=headers(account))
    assert response.status_code == 404


async def test_wait_saving_is_readable_at_once(db_client, backend_services):
    account = new_account()
    writer = EventWriter(backend_services.storage, EventHub(), flush_interval_s=3600)
    event = new_event(account)
    await writer.save([event], wait=True)
    assert writer.pending == 0
    assert await readable(db_client, account, event.event_id)
    await writer.close()


async def test_buffered_events_are_written_by_flush_and_close(db_client, backend_services):
    account = new_account()
    # An hour between ticks: only flush() and close() can write these.
    writer = EventWriter(backend_services.storage, EventHub(), flush_interval_s=3600)
    first, second = new_event(account), new_event(account)
    await writer.save([first], wait=False)
    assert writer.pending == 1
    assert not await readable(db_client, account, first.event_id)
    assert await writer.flush() == 1
    assert writer.pending == 0 and await readable(db_client, account, first.event_id)

    await writer.save([second], wait=False)
    await writer.close()
    assert writer.pending == 0 and await readable(db_client, account, second.event_id)


async def test_background_task_writes_on_its_tick_and_when_a_batch_is_full(
    db_client, backend_services
):
    account = new_account()
    ticking = EventWriter(backend_services.storage, EventHub(), flush_interval_s=0.1)
    event = new_event(account)
    await ticking.save([event], wait=False)
    await eventually(lambda: readable(db_client, account, event.event_id))
    await ticking.close()

    # A full batch does not wait for the (hour-long) tick.
    batched = EventWriter(backend_services.storage, EventHub(), flush_interval_s=3600, max_batch=3)
    events = [new_event(account, HANDLER_B) for _ in range(3)]
    await batched.save(events, wait=False)

    async def all_stored() -> bool:
        return (await event_ids(db_client, account, handler_id=HANDLER_B))[1] == 3

    await eventually(all_stored)
    await batched.close()


class FlakyStorage:
    """The real storage, failing like a database outage for the first ``failures`` uses."""

    def __init__(self, storage, failures: int) -> None:
        self.storage = storage
        self.failures = failures

    async def ready(self):
        if self.failures:
            self.failures -= 1
            raise OperationalError("INSERT INTO events", {}, ConnectionError("database is down"))
        return await self.storage.ready()


async def test_failed_flush_keeps_the_buffer_and_retries(db_client, backend_services, caplog):
    account = new_account()
    flaky = FlakyStorage(backend_services.storage, failures=1)
    writer = EventWriter(flaky, EventHub(), flush_interval_s=3600)
    events = [new_event(account) for _ in range(3)]
    await writer.save(events, wait=False)
    with pytest.raises(OperationalError):
        await writer.flush()
    assert writer.pending == 3  # nothing lost
    assert await writer.flush() == 3
    assert [e.event_id for e in reversed(events)] == (await event_ids(db_client, account))[0]
    await writer.close()

    # The background task logs the failure and tries again on its next tick.
    flaky.failures = 2
    ticking = EventWriter(flaky, EventHub(), flush_interval_s=0.05)
    late = new_event(account)
    with caplog.at_level(logging.ERROR, logger="serve_app.storage.events"):
        await ticking.save([late], wait=False)
        await eventually(lambda: readable(db_client, account, late.event_id))
    assert sum("retrying" in r.getMessage() for r in caplog.records) == 2
    await ticking.close()


async def test_refused_event_is_dropped_without_blocking_the_others(db_client, backend_services):
    account = new_account()
    hub = EventHub()
    writer = EventWriter(backend_services.storage, hub, flush_interval_s=3600)
    stored = new_event(account)
    await writer.save([stored], wait=True)
    duplicate = new_event(account, notify=True)
    duplicate.event_id = stored.event_id  # the database refuses it: the id exists
    fresh = new_event(account, notify=True)
    with hub.subscription(account) as subscription:
        await writer.save([duplicate, fresh], wait=False)
        assert await writer.flush() == 1
        # Only what was stored is notified.
        assert subscription.queue.get_nowait() == fresh.body
        assert subscription.queue.empty()
    assert writer.dropped == 1 and writer.pending == 0
    assert (await event_ids(db_client, account))[0] == [fresh.event_id, stored.event_id]
    await writer.close()


def test_slow_subscriber_loses_its_oldest_messages_not_the_publisher():
    hub = EventHub(queue_size=2)
    slow = hub.subscribe("acc")
    other = hub.subscribe("acc", handler_id="h2")
    delivered = [hub.publish("acc", "h1", {"n": n}) for n in range(3)]
    assert delivered == [1, 1, 1]  # the handler filter keeps "other" out
    assert [slow.queue.get_nowait() for _ in range(2)] == [{"n": 1}, {"n": 2}]
    assert slow.dropped == 1 and hub.dropped == 1 and other.queue.empty()
    hub.unsubscribe(slow)
    hub.unsubscribe(other)
    hub.unsubscribe(other)  # twice is harmless
    assert hub.subscribers("acc") == 0 and hub.publish("acc", "h1", {"n": 3}) == 0


async def test_websocket_subscriber_gets_its_handlers_events_only(backend_services):
    app = create_app(backend_services)
    hub = backend_services.notifier
    # The app's hub, and a writer of this test's own: its buffer is flushed by hand here.
    writer = EventWriter(backend_services.storage, hub, flush_interval_s=3600)
    account, other = new_account(), new_account()
    by_handler = AsgiWebSocket(app, f"handler_id={HANDLER_A}", headers(account))
    by_query = AsgiWebSocket(app, f"account_id={account}")  # as browsers subscribe
    assert (await by_handler.connect())["type"] == "websocket.accept"
    assert (await by_query.connect())["type"] == "websocket.accept"
    assert hub.subscribers(account) == 2

    wanted = new_event(account, HANDLER_A, notify=True)
    other_handler = new_event(account, HANDLER_B, notify=True)
    other_account = new_event(other, HANDLER_A, notify=True)
    not_notified = new_event(account, HANDLER_A, notify=False)
    await writer.save([other_account, other_handler, not_notified, wanted], wait=True)
    buffered = new_event(account, HANDLER_A, notify=True)
    await writer.save([buffered], wait=False)
    assert by_handler.from_app.empty()  # notified once stored, not when buffered
    await writer.flush()

    # In order, and nothing between: the other handler's, the other account's and the
    # unflagged events never reach this subscriber.
    assert await by_handler.receive_json() == wanted.body
    assert await by_handler.receive_json() == buffered.body
    assert by_handler.from_app.empty()
    received = [await by_query.receive_json() for _ in range(3)]
    assert received == [other_handler.body, wanted.body, buffered.body]

    await by_handler.close()
    await by_query.close()
    assert hub.subscribers(account) == 0
    await writer.close()


@pytest.mark.parametrize(
    ("query", "sent", "code"),
    [
        ("", {}, 11036),
        ("account_id=nope", {}, 11037),
        (f"handler_id=nope&account_id={uuid.uuid4()}", {}, 12012),
        (f"account_id={uuid.uuid4()}", {"Luna-Account-Id": str(uuid.uuid4())}, 12012),
    ],
)
async def test_websocket_without_a_valid_account_is_refused(backend_services, query, sent, code):
    socket = AsgiWebSocket(create_app(backend_services), query, sent)
    answer = await socket.connect()
    assert answer["type"] == "websocket.close" and answer["code"] == 1008, answer
    assert answer["reason"].startswith(f"{code}:"), answer
    await asyncio.wait_for(socket.task, 10)

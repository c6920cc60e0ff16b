"""Event notifications across ingress replicas: two app instances in this process, each with
its own hub and database pool (two ingress "replicas"), sharing one PostgreSQL database. An
event one of them stores reaches a WebSocket subscriber of the other through PostgreSQL's
LISTEN/NOTIFY (serve_app.fanout); without the fan-out it does not."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from serve_app.app import create_app
from serve_app.fanout import LISTENER_NAME, LocalFanout, PostgresFanout, asyncpg_dsn, build_fanout
from serve_app.notifications import EventHub
from serve_app.settings import Settings
from tests.api.conftest import make_services, postgres_url
from tests.api.test_events_store import HANDLER_A, HANDLER_B, AsgiWebSocket, headers, new_event
from tests.conftest import new_account


def required_postgres() -> str:
    url = postgres_url()
    if url is None:
        pytest.skip("no PostgreSQL: scripts/run-tests.sh starts one (scripts/postgres.sh)")
    return url


@pytest.fixture
async def replicas(models_dir, tmp_path):
    """``replicas(fanout)``: two services on the test PostgreSQL database, closed after."""
    made = []

    def build(fanout: str = "auto"):
        url = required_postgres()
        pair = [
            make_services(
                models_dir,
                tmp_path / f"{fanout}-{name}",
                database_url=url,
                notifications={"fanout": fanout},
            )
            for name in ("a", "b")
        ]
        made.extend(pair)
        return pair

    yield build
    for services in made:
        await services.event_writer.close()
        await services.fanout.close()
        await services.storage.close()


async def test_an_event_stored_by_one_replica_reaches_a_subscriber_of_another(replicas):
    a, b = replicas()
    assert isinstance(a.fanout, PostgresFanout) and isinstance(b.fanout, PostgresFanout)
    account, other = new_account(), new_account()
    on_b = AsgiWebSocket(create_app(b), "", headers(account))
    of_handler_b = AsgiWebSocket(create_app(b), f"handler_id={HANDLER_B}", headers(account))
    on_a = AsgiWebSocket(create_app(a), "", headers(account))
    for socket in (on_b, of_handler_b, on_a):
        assert (await socket.connect())["type"] == "websocket.accept"

    stored = new_event(account, HANDLER_A, notify=True)
    elsewhere = new_event(other, HANDLER_A, notify=True)  # another account's
    await a.event_writer.save([elsewhere, stored], wait=True)
    assert await on_b.receive_json() == stored.body
    # The replica that made it delivered it once, itself; the handler filter holds on B.
    assert await on_a.receive_json() == stored.body

    # Bodies above NOTIFY's 8000 bytes travel in parts (non-ASCII text escaped).
    large = new_event(account, HANDLER_B, notify=True)
    large.body["user_data"] = "événement " * 3000
    await a.event_writer.save([large], wait=False)  # buffered, then flushed
    assert await a.event_writer.flush() == 1
    assert await on_b.receive_json() == large.body
    assert await of_handler_b.receive_json() == large.body
    assert await on_a.receive_json() == large.body

    # Events notified without being stored go the same way, and B's own events reach A.
    a.fanout.publish(account, HANDLER_A, {"event_id": "not stored"})
    assert (await on_b.receive_json())["event_id"] == "not stored"
    from_b = new_event(account, HANDLER_B, notify=True)
    await b.event_writer.save([from_b], wait=True)
    assert await on_a.receive_json() == {"event_id": "not stored"}
    assert await on_a.receive_json() == from_b.body
    assert await on_b.receive_json() == from_b.body
    assert await of_handler_b.receive_json() == from_b.body

    # Nothing else came: no duplicates, no other account's or other handler's events.
    await asyncio.sleep(0.5)
    for socket in (on_b, of_handler_b, on_a):
        assert socket.from_app.empty()
        await socket.close()


async def test_without_the_fanout_the_other_replica_hears_nothing(replicas):
    # The control of the test above: the same two replicas with in-process delivery only.
    a, b = replicas("local")
    assert isinstance(a.fanout, LocalFanout)
    account = new_account()
    on_b = AsgiWebSocket(create_app(b), "", headers(account))
    assert (await on_b.connect())["type"] == "websocket.accept"
    await a.event_writer.save([new_event(account, HANDLER_A, notify=True)], wait=True)
    with pytest.raises(TimeoutError):
        await on_b.receive_json(timeout_s=1.5)
    await on_b.close()


async def test_a_lost_listener_connection_is_reopened(replicas):
    a, b = replicas()
    account = new_account()
    on_b = AsgiWebSocket(create_app(b), "", headers(account))
    assert (await on_b.connect())["type"] == "websocket.accept"
    # PostgreSQL ends B's listening connection (as a restart or a network cut would).
    async with a.transaction() as session:
        await session.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :name"
            ),
            {"name": LISTENER_NAME},
        )
    for _ in range(100):  # B notices and listens again within its reconnect delay
        await asyncio.sleep(0.1)
        if b.fanout._listening.is_set():
            event = new_event(account, HANDLER_A, notify=True)
            await a.event_writer.save([event], wait=True)
            try:
                assert await on_b.receive_json(timeout_s=2) == event.body
                break
            except TimeoutError:
                continue
    else:
        pytest.fail("the listener did not come back")
    await on_b.close()


def test_settings_choose_the_fanout():
    sqlite = Settings.from_args({}, environ={})
    assert sqlite.notifications.fanout == "auto"
    assert isinstance(build_fanout(sqlite, EventHub()), LocalFanout)
    on_sqlite = Settings.from_args({"notifications": {"fanout": "postgres"}}, environ={})
    with pytest.raises(ValueError, match="PostgreSQL"):
        build_fanout(on_sqlite, EventHub())
    dsn = asyncpg_dsn("postgresql+asyncpg://luna:pw@db:5432/luna?ssl=require")
    assert dsn == "postgresql://luna:pw@db:5432/luna?ssl=require"


async def test_notifications_the_database_refuses_are_dropped_not_retried_forever():
    # An empty channel name is refused by pg_notify on a live connection, as a bad batch would
    # be: it is dropped and counted, and the sender stays free for later events.
    fanout = PostgresFanout(EventHub(), asyncpg_dsn(required_postgres()), channel="")
    fanout.publish(new_account(), HANDLER_A, {"event_id": "refused"})
    for _ in range(100):
        if fanout.dropped:
            break
        await asyncio.sleep(0.05)
    assert fanout.dropped == 1 and not fanout._queue
    await fanout.close()

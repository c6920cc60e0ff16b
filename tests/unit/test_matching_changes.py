"""Replicas of a matcher shard follow the face change feed: every replica sees every write,
a search waits for the changes its ingress wrote, and holes in the sequence are waited for."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from sqlalchemy import insert

from models.matching import CandidateFilter, IndexConfig, ShardServer
from serve_app.matching import changes
from serve_app.matching.changes import ChangeFollower
from serve_app.storage.lists import FaceStore
from serve_app.storage.tables import FaceChange
from tests.unit.test_matching_db import DIMS, VERSION, add_face, unit

NONE = CandidateFilter()


async def replica(db) -> tuple[ShardServer, ChangeFollower]:
    """A shard replica as the deployment makes one: follow from the feed's end, then load."""
    server = ShardServer(IndexConfig(descriptor_version=VERSION, dims=DIMS))
    follower = ChangeFollower(db, server.apply, VERSION, DIMS, await changes.latest(db))
    server.mark_ready()
    return server, follower


async def found(server: ShardServer, account: str, vector: np.ndarray) -> list[str]:
    return [h.face_id for h in (await server.search(account, vector[None], NONE, 3))[0]]


async def test_every_replica_sees_every_write_and_searches_wait_for_their_writer(database):
    rng = np.random.default_rng(5)
    vectors = unit(rng.standard_normal((3, DIMS)))
    account = str(uuid.uuid4())
    (a, follow_a), (b, follow_b) = await replica(database), await replica(database)

    first = await add_face(database, account, vectors[0])
    written = await changes.record(database, account, [first])
    assert await found(a, account, vectors[0]) == []  # not followed yet
    await follow_a.wait_for(written)  # what a search naming `written` does first
    assert await found(a, account, vectors[0]) == [first]
    assert await follow_b.catch_up() == 1  # the other replica, on its own schedule
    assert await found(b, account, vectors[0]) == [first]

    # A removal and a new face reach both, in one pass each; nothing is applied twice.
    second = await add_face(database, account, vectors[1])
    async with database.transaction() as session:
        assert await FaceStore(session, account).remove(first)
    written = await changes.record(database, account, [first, second])
    for server, follower in ((a, follow_a), (b, follow_b)):
        await follower.wait_for(written)
        assert first not in await found(server, account, vectors[0])
        assert (await found(server, account, vectors[1]))[0] == second
        assert await follower.catch_up() == 0
        assert follower.watermark == written


async def test_a_hole_in_the_sequence_is_waited_for_then_passed(database, monkeypatch):
    account = str(uuid.uuid4())
    server, follower = await replica(database)
    start = follower.watermark
    face = await add_face(database, account, unit(np.ones(DIMS)))
    # Sequence numbers start+1 (still committing, say) and start+2 (committed).
    async with database.transaction() as session:
        await session.execute(insert(FaceChange), [{"seq": start + 2, "account_id": account,
                              "face_id": face, "create_time": _now()}])  # fmt: skip
    await follower.catch_up()
    assert follower.watermark == start  # start+2 applied, but start+1 may still come
    assert await found(server, account, unit(np.ones(DIMS))) == [face]
    monkeypatch.setattr(changes, "GAP_WAIT_S", 0.0)
    await follower.catch_up()
    assert follower.watermark == start + 2  # never came: passed


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


@pytest.mark.parametrize("n", [3])
async def test_old_changes_are_trimmed(database, n):
    account = str(uuid.uuid4())
    await changes.record(database, account, [str(uuid.uuid4()) for _ in range(n)])
    from datetime import timedelta

    await changes.trim(database, keep=timedelta(hours=1))
    assert await changes.latest(database) >= n  # recent: kept
    await changes.trim(database, keep=timedelta(seconds=-1))
    async with database.transaction() as session:
        from sqlalchemy import func, select

        assert (await session.execute(select(func.count()).select_from(FaceChange))).scalar() == 0

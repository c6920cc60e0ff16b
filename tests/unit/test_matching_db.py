"""The matcher over a real (temporary SQLite) database: build at start, refresh after each
kind of change, version filtering, isolation, and N shards answering like one."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from models import descriptor_format
from models.matching import CandidateFilter
from serve_app.errors import LunaError
from serve_app.matching import Matcher, MatcherSettings, iter_pages, local_matcher
from serve_app.storage.db import Database
from serve_app.storage.lists import FaceStore, ListStore

DIMS = 512
VERSION = 1001
NONE = CandidateFilter()


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


async def add_face(
    db: Database, account: str, vector: np.ndarray, version: int = VERSION, lists=()
):
    async with db.transaction() as session:
        face = await FaceStore(session, account).create(
            {version: (descriptor_format.raw(vector), None)}, None, [], "someone", "ext-1"
        )
        for list_id in lists:
            await ListStore(session, account).attach(list_id, [face.face_id])
    return face.face_id


async def new_list(db: Database, account: str) -> str:
    async with db.transaction() as session:
        return (await ListStore(session, account).create("")).list_id


def matcher(db: Database, shards: int = 1, **settings) -> Matcher:
    return local_matcher(db, MatcherSettings(shards=shards, **settings), VERSION, DIMS)


async def top(m: Matcher, account: str, vector: np.ndarray, filt=NONE, limit=5) -> list[str]:
    return [h.face_id for h in (await m.search(account, vector[None], VERSION, filt, limit))[0]]


async def test_build_refresh_and_versions(database):
    rng = np.random.default_rng(3)
    vectors = unit(rng.standard_normal((6, DIMS)))
    account, other = str(uuid.uuid4()), str(uuid.uuid4())
    list_id = await new_list(database, account)
    stored = [await add_face(database, account, v, lists=[list_id]) for v in vectors[:3]]
    old_model = await add_face(database, account, vectors[3], version=52)
    foreign = await add_face(database, other, vectors[4])

    m = matcher(database, page_size=100)
    await m.start()
    assert await top(m, account, vectors[0], limit=1) == [stored[0]]
    assert old_model not in await top(m, account, vectors[3], limit=10)  # another version
    assert foreign not in await top(m, account, vectors[4], limit=10)  # another account
    assert await top(m, other, vectors[4], limit=10) == [foreign]

    # Created: matchable by the next search once refreshed.
    created = await add_face(database, account, vectors[5])
    await m.refresh_faces(account, [created])
    assert await top(m, account, vectors[5], limit=1) == [created]
    in_list = CandidateFilter(list_id=list_id)
    assert created not in await top(m, account, vectors[5], in_list)

    # Linked, then unlinked.
    async with database.transaction() as session:
        await ListStore(session, account).attach(list_id, [created])
    await m.refresh_faces(account, [created])
    assert (await top(m, account, vectors[5], in_list))[0] == created
    async with database.transaction() as session:
        await ListStore(session, account).detach(list_id, [created])
    await m.refresh_faces(account, [created])
    assert created not in await top(m, account, vectors[5], in_list)

    # Upgraded to the configured version: becomes matchable.
    async with database.transaction() as session:
        await FaceStore(session, account).put_descriptor(
            old_model, VERSION, descriptor_format.raw(vectors[3]), None
        )
    await m.refresh_faces(account, [old_model])
    assert await top(m, account, vectors[3], limit=1) == [old_model]

    # Another account cannot take a face out of the index by naming it.
    await m.refresh_faces(account, [foreign])
    assert await top(m, other, vectors[4], limit=1) == [foreign]

    # Removed.
    async with database.transaction() as session:
        await FaceStore(session, account).remove(stored[0])
    await m.refresh_faces(account, [stored[0]])
    assert stored[0] not in await top(m, account, vectors[0], limit=10)

    with pytest.raises(LunaError):
        await m.search(account, vectors[:1], 52, NONE, 5)
    with pytest.raises(LunaError):
        await m.search(account, vectors[:1, :128], VERSION, NONE, 5)


async def test_pages_cover_every_face_once(database):
    rng = np.random.default_rng(4)
    account = str(uuid.uuid4())
    ids = {await add_face(database, account, v) for v in unit(rng.standard_normal((25, DIMS)))}
    pages = [page async for page in iter_pages(database, VERSION, DIMS, page_size=7)]
    assert [len(p) for p in pages] == [7, 7, 7, 4]
    assert [r.face_id for p in pages for r in p] == sorted(ids)


async def test_two_shards_answer_like_one(database):
    rng = np.random.default_rng(5)
    account = str(uuid.uuid4())
    list_id = await new_list(database, account)
    centres = unit(rng.standard_normal((40, DIMS)))
    for c in centres:
        for _ in range(3):
            await add_face(
                database, account, unit(c + 0.6 * unit(rng.standard_normal(DIMS))), lists=[list_id]
            )
    one, two = matcher(database, 1), matcher(database, 2)
    await one.start()
    await two.start()
    assert [len(s.shard) for s in two.shards.servers] != [120, 0]
    queries = unit(centres + 0.6 * unit(rng.standard_normal(centres.shape)))
    filt = CandidateFilter(list_id=list_id)
    a = await one.search(account, queries, VERSION, filt, 10)
    b = await two.search(account, queries, VERSION, filt, 10)
    assert [[h.face_id for h in q] for q in a] == [[h.face_id for h in q] for q in b]
    assert [[h.cosine for h in q] for q in a] == [pytest.approx([h.cosine for h in q]) for q in b]


async def test_a_large_account_is_searched_by_its_fast_scan_index(database):
    """Above ``exact_below`` faces, the account is searched through its fast-scan index (as
    loaded from the database): it finds what exact search finds, sees new faces at once and
    never returns a removed one."""
    rng = np.random.default_rng(6)
    account = str(uuid.uuid4())
    centres = unit(rng.standard_normal((600, DIMS)))
    vectors = unit(np.repeat(centres, 2, 0) + 0.6 * unit(rng.standard_normal((1200, DIMS))))
    face_ids = []
    async with database.transaction() as session:
        store = FaceStore(session, account)
        for v in vectors:
            face = await store.create({VERSION: (descriptor_format.raw(v), None)}, None, [], "", "")
            face_ids.append(face.face_id)
    fast = matcher(database, exact_below=1000, refine=200)
    exact = matcher(database, index="flat")
    await fast.start()
    await exact.start()
    assert fast.shards.servers[0].shard.stats()["approximate_accounts"] == 1
    queries = unit(centres[::5] + 0.6 * unit(rng.standard_normal((120, DIMS))))
    found = await fast.search(account, queries, VERSION, NONE, 10)
    truth = await exact.search(account, queries, VERSION, NONE, 10)
    pairs = zip(found, truth, strict=True)
    recall = np.mean([len({h.face_id for h in a} & {h.face_id for h in b}) / 10 for a, b in pairs])
    assert recall >= 0.95
    assert [q[0].face_id for q in found] == [q[0].face_id for q in truth]

    gone = face_ids[10]
    async with database.transaction() as session:
        assert await FaceStore(session, account).remove(gone)
    created = await add_face(database, account, vectors[10])
    await fast.refresh_faces(account, [gone, created])
    assert await top(fast, account, vectors[10], limit=2) == [created, face_ids[11]]

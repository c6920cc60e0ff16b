"""The index shard (models.matching): exact and IVF search, filters, changes, sharding."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from models.matching import (
    NO_FILTER,
    CandidateFilter,
    FaceRow,
    IndexConfig,
    IndexShard,
    ShardServer,
    exact_topk,
    merge_topk,
    search_candidates,
    shard_of,
)

DIMS = 64
VERSION = 1001
A = "aaaaaaaa-0000-4000-8000-000000000000"
B = "bbbbbbbb-0000-4000-8000-000000000000"
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


class Gallery:
    """Identities as random centres, faces and queries as noisy samples of them (cosine
    within an identity ~0.7, between identities ~0), like face descriptors."""

    def __init__(
        self, identities: int, per_identity: int, seed: int = 1, first_id: int = 1
    ) -> None:
        self.rng = np.random.default_rng(seed)
        self.centres = unit(self.rng.standard_normal((identities, DIMS)))
        self.identity = np.repeat(np.arange(identities), per_identity)
        self.vectors = self.sample(self.identity)
        self.face_ids = [
            str(uuid.UUID(int=first_id + i, version=4)) for i in range(len(self.identity))
        ]

    def sample(self, identities: np.ndarray) -> np.ndarray:
        noise = unit(self.rng.standard_normal((len(identities), DIMS)))
        return unit(self.centres[identities] + 0.65 * noise)

    def rows(self, account: str = A, **fields) -> list[FaceRow]:
        return [
            FaceRow(f, account, v, VERSION, T0 + timedelta(seconds=i), **fields)
            for i, (f, v) in enumerate(zip(self.face_ids, self.vectors, strict=True))
        ]


def config(**overrides) -> IndexConfig:
    return IndexConfig(**{"descriptor_version": VERSION, "dims": DIMS, **overrides})


def ids(hits) -> list[str]:
    return [h.face_id for h in hits]


def test_exact_topk_orders_best_first_and_clamps_k():
    candidates = unit(np.eye(4, DIMS, dtype=np.float32) + 0.01)
    query = candidates[2:3] * 0.9 + candidates[1:2] * 0.1
    scores, positions = exact_topk(query, candidates, 10)
    assert positions.shape == (1, 4)
    assert positions[0, :2].tolist() == [2, 1]
    assert np.all(np.diff(scores[0]) <= 0)
    assert search_candidates(query, candidates, ["a", "b", "c", "d"], 1) == [
        [("c", pytest.approx(float(scores[0, 0])))]
    ]


def test_exact_search_finds_the_identity_and_matches_brute_force():
    g = Gallery(200, 3)
    shard = IndexShard(config(index="flat"))
    shard.upsert(g.rows())
    queries = g.sample(np.arange(0, 200, 7))
    results = shard.search(A, queries, limit=5)
    for q, hits in zip(queries, results, strict=True):
        brute = np.argsort(-(g.vectors @ q))[:5]
        assert ids(hits) == [g.face_ids[i] for i in brute]
        assert [h.cosine for h in hits] == pytest.approx(
            sorted(g.vectors @ q, reverse=True)[:5], abs=1e-5
        )
    assert all(
        g.identity[g.face_ids.index(r[0].face_id)] == i
        for i, r in zip(range(0, 200, 7), results, strict=True)
    )


@pytest.mark.parametrize("index_kind", ["fastscan", "ivf_sq8", "ivf"])
def test_approximate_agrees_with_exact(index_kind):
    g = Gallery(3000, 3)
    exact = IndexShard(config(index="flat"))
    # refine 300 of 9000 rows: the PQ codes, not a near-full re-rank, must find the best.
    ann = IndexShard(config(index=index_kind, exact_below=1000, nprobe=64, refine=300))
    exact.upsert(g.rows())
    ann.upsert(g.rows())
    assert ann.stats()["approximate_accounts"] == 1
    queries = g.sample(np.arange(0, 3000, 15))
    truth = [ids(r) for r in exact.search(A, queries, limit=10)]
    found = [ids(r) for r in ann.search(A, queries, limit=10)]
    top1 = np.mean([a[0] == b[0] for a, b in zip(truth, found, strict=True)])
    assert top1 >= 0.98
    if index_kind == "fastscan":
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, found, strict=True)])
        assert recall >= 0.9
        # A batch gives the answers of one query at a time.
        one_by_one = [ids(ann.search(A, q, limit=10)[0]) for q in queries[:20]]
        assert one_by_one == found[:20]


def test_fastscan_blocks_scanned_in_parallel_answer_like_one_block():
    g = Gallery(3000, 3)
    exact = IndexShard(config(index="flat"))
    one = IndexShard(config(exact_below=1000, refine=300, threads=1))
    two = IndexShard(config(exact_below=1000, refine=300, threads=2))
    for shard in (exact, one, two):
        shard.upsert(g.rows())
    assert len(two._parts[A].ann.blocks) == 2
    queries = g.sample(np.arange(0, 3000, 15))

    def recall(shard: IndexShard) -> float:
        # One query at a time: the blocks are scanned in parallel only then.
        found = [ids(shard.search(A, q, limit=10)[0]) for q in queries]
        truth = [ids(r) for r in exact.search(A, queries, limit=10)]
        return np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, found, strict=True)])

    # Codes score in 8-bit steps: ties at the refine boundary may fall either way.
    assert recall(two) >= 0.9 and abs(recall(two) - recall(one)) <= 0.03
    # Faces added after training go to the last block and are found.
    extra = Gallery(10, 1, seed=7, first_id=50_000)
    two.upsert(extra.rows())
    assert ids(two.search(A, extra.vectors[3], limit=1)[0]) == [extra.face_ids[3]]


def test_large_accounts_hold_half_precision_vectors_and_answer_alike():
    g = Gallery(1000, 3)
    half = IndexShard(config(exact_below=1000, refine=300))
    full = IndexShard(config(exact_below=1000, refine=300, large_vectors="float32"))
    small = Gallery(100, 2, seed=5, first_id=90_000)
    for shard in (half, full):
        shard.upsert(g.rows())
        shard.upsert(small.rows(account=B))
    # The large account's vectors take half the bytes; the small one stays float32.
    assert half._parts[A].vectors.dtype == np.float16
    assert half._parts[B].vectors.dtype == np.float32
    big = full._parts[A].vectors.nbytes
    assert half._parts[A].vectors.nbytes == big // 2
    queries = g.sample(np.arange(0, 1000, 10))
    for h, f in zip(half.search(A, queries, limit=10), full.search(A, queries, limit=10),
                    strict=True):
        assert ids(h)[0] == ids(f)[0]
        assert len(set(ids(h)) & set(ids(f))) >= 9
        common = {x.face_id: x.cosine for x in f}
        assert all(abs(x.cosine - common[x.face_id]) < 1e-3 for x in h if x.face_id in common)
    # Re-upserting the same descriptor is recognised at the stored precision (fields only).
    rows = g.rows(user_data="again")
    half.upsert(rows[:5])
    assert half.stats()["tombstones"] == 0
    # A filter selecting few rows of the large account is searched exactly, on the halves.
    filt = CandidateFilter(face_ids=tuple(g.face_ids[:30]))
    assert ids(half.search(A, g.vectors[7], filt, limit=1)[0]) == [g.face_ids[7]]


def test_accounts_are_isolated():
    g = Gallery(50, 2)
    shard = IndexShard(config())
    shard.upsert(g.rows(A))
    other = Gallery(50, 2, seed=2, first_id=1000)
    shard.upsert(other.rows(B))
    for hits in shard.search(B, g.vectors[:10], limit=100):
        assert set(ids(hits)) <= set(other.face_ids)
        assert len(hits) == 100
    assert shard.search("cccccccc-0000-4000-8000-000000000000", g.vectors[:1], limit=5) == [[]]
    # Naming another account's faces does not reach them either.
    filt = CandidateFilter(face_ids=tuple(g.face_ids[:5]))
    assert shard.search(B, g.vectors[:1], filt, limit=5) == [[]]
    assert ids(shard.search(A, g.vectors[:1], filt, limit=5)[0])[0] == g.face_ids[0]


@pytest.mark.parametrize("index_kind", ["flat", "fastscan", "ivf", "ivf_sq8"])
def test_filters(index_kind):
    g = Gallery(1500, 2)
    rows = g.rows()
    rows = [
        FaceRow(
            r.face_id,
            A,
            r.descriptor,
            VERSION,
            r.create_time,
            list_ids=("L-even",) if i % 2 == 0 else ("L-odd", "L-all"),
            external_id=f"ext-{i % 10}",
            user_data=f"person {i}",
        )
        for i, r in enumerate(rows)
    ]
    shard = IndexShard(config(index=index_kind, exact_below=500, nprobe=8))
    shard.upsert(rows)
    query = g.vectors[10:11]

    def search(**f) -> list[str]:
        return ids(shard.search(A, query, CandidateFilter(**f), limit=3000)[0])

    def expect(predicate) -> set[str]:
        return {r.face_id for i, r in enumerate(rows) if predicate(i, r)}

    assert set(search(list_id="L-odd")) == expect(lambda i, r: i % 2 == 1)
    assert search(list_id="no-such-list") == []
    assert set(search(face_ids=(g.face_ids[3], g.face_ids[10], "x"))) == {
        g.face_ids[3],
        g.face_ids[10],
    }
    assert set(search(external_ids=("ext-3", "ext-4"))) == expect(lambda i, r: i % 10 in (3, 4))
    assert set(search(external_ids=("ext-3",), list_id="L-odd")) == expect(lambda i, r: i % 10 == 3)
    assert set(search(user_data="person 12")) == expect(lambda i, r: "person 12" in r.user_data)
    gte, lt = T0 + timedelta(seconds=100), T0 + timedelta(seconds=200)
    assert set(search(create_time__gte=gte, create_time__lt=lt)) == expect(
        lambda i, r: gte <= r.create_time < lt
    )
    low, high = sorted(g.face_ids)[100], sorted(g.face_ids)[300]
    assert set(search(face_id__gte=low, face_id__lt=high)) == expect(
        lambda i, r: low <= r.face_id < high
    )
    # The best of a list is the exact best among the list's faces.
    best = search(list_id="L-even")[0]
    evens = [i for i in range(len(rows)) if i % 2 == 0]
    assert best == g.face_ids[evens[int(np.argmax(g.vectors[evens] @ query[0]))]]


def test_upsert_remove_and_relink():
    g = Gallery(40, 2)
    shard = IndexShard(config())
    shard.upsert(g.rows())
    target = g.face_ids[5]
    assert ids(shard.search(A, g.vectors[5:6], limit=1)[0]) == [target]

    moved = FaceRow(target, A, g.vectors[30], VERSION, T0, list_ids=("L",), user_data="moved")
    shard.upsert([moved])
    assert len(shard) == len(g.face_ids)
    hit = shard.search(A, g.vectors[30:31], CandidateFilter(list_id="L"), limit=5)[0]
    assert ids(hit) == [target] and hit[0].user_data == "moved" and hit[0].list_ids == ("L",)
    assert target not in ids(shard.search(A, g.vectors[5:6], limit=1)[0])

    shard.upsert([FaceRow(target, A, g.vectors[30], VERSION, T0)])  # unlinked from L
    assert shard.search(A, g.vectors[30:31], CandidateFilter(list_id="L"), limit=5) == [[]]

    assert shard.remove([target, "not-indexed"]) == 1
    assert target not in ids(shard.search(A, g.vectors[30:31], limit=80)[0])
    assert len(shard) == len(g.face_ids) - 1


@pytest.mark.parametrize("index_kind", ["fastscan", "ivf_sq8"])
def test_removals_and_compaction(index_kind):
    g = Gallery(1500, 2)
    shard = IndexShard(config(index=index_kind, exact_below=500, nprobe=64, refine=100))
    shard.upsert(g.rows())
    # A few removals leave tombstones, which a search never returns.
    few = g.face_ids[2900:2950]
    shard.remove(few)
    assert shard.stats()["tombstones"] == 50
    hits = shard.search(A, g.vectors[2900:2950], limit=10)
    assert not set(few) & {h.face_id for row in hits for h in row}
    assert all(len(row) == 10 for row in hits)
    gone = g.face_ids[:2000]
    shard.remove(gone)
    stats = shard.stats()
    assert stats["descriptors"] == 950
    assert stats["tombstones"] == 0  # dead rows outnumbered live ones: compacted
    assert stats["approximate_accounts"] == 1
    results = shard.search(A, g.vectors[:50], limit=10)
    assert not set(gone) & {h.face_id for hits in results for h in hits}
    kept = shard.search(A, g.vectors[2500:2501], limit=1)[0]
    assert ids(kept) == [g.face_ids[2500]]


def test_other_versions_are_not_indexed():
    g = Gallery(10, 1)
    shard = IndexShard(config())
    rows = g.rows()
    shard.upsert(
        rows[:5] + [FaceRow(r.face_id, A, r.descriptor, VERSION + 1, T0) for r in rows[5:]]
    )
    assert len(shard) == 5
    # A face whose descriptor of the configured version is replaced by another version leaves.
    shard.upsert([FaceRow(rows[0].face_id, A, rows[0].descriptor, 52, T0)])
    assert rows[0].face_id not in ids(shard.search(A, g.vectors[:1], limit=10)[0])
    with pytest.raises(ValueError, match="dimensions"):
        shard.upsert([FaceRow("x", A, np.ones(DIMS + 1, np.float32), VERSION, T0)])


@pytest.mark.parametrize("index_kind", ["flat", "ivf_sq8"])
def test_two_shards_give_the_same_topk_as_one(index_kind):
    g = Gallery(1200, 3)
    rows = g.rows(list_ids=("L",))
    one = IndexShard(config(index="flat"))
    one.upsert(rows)
    shards = [IndexShard(config(index=index_kind, exact_below=100_000)) for _ in range(2)]
    for s, shard in enumerate(shards):
        shard.upsert([r for r in rows if shard_of(r.face_id, 2) == s])
    assert 0 < len(shards[0]) < len(rows) and len(shards[0]) + len(shards[1]) == len(rows)
    queries = g.sample(np.arange(0, 1200, 11))
    filt = CandidateFilter(list_id="L")
    alone = one.search(A, queries, filt, limit=10)
    split = [s.search(A, queries, filt, limit=10) for s in shards]
    for q in range(len(queries)):
        merged = merge_topk([split[0][q], split[1][q]], 10)
        assert ids(merged) == ids(alone[q])
        assert [h.cosine for h in merged] == pytest.approx([h.cosine for h in alone[q]], abs=1e-6)


def test_shard_of_is_stable_and_spreads():
    ids_ = [str(uuid.UUID(int=i, version=4)) for i in range(1000)]
    counts = np.bincount([shard_of(f, 4) for f in ids_], minlength=4)
    assert counts.min() > 200
    assert shard_of("5f1c7ae8-9d6c-4c8e-9c56-0d8b1c2d3e4f", 4) == shard_of(
        "5f1c7ae8-9d6c-4c8e-9c56-0d8b1c2d3e4f", 4
    )


def test_config_refuses_unknown_keys():
    with pytest.raises(ValueError, match="nprob"):
        IndexConfig.from_mapping({"descriptor_version": 1, "nprob": 3})
    with pytest.raises(ValueError):
        IndexConfig(descriptor_version=1, index="hnsw")


async def test_a_change_during_the_load_is_not_overwritten_by_it():
    g = Gallery(20, 1)
    rows = g.rows()
    server = ShardServer(config())
    server.begin_load()
    # The face changed (descriptor of face 0 now that of face 19) after its page was read.
    changed = FaceRow(rows[0].face_id, A, g.vectors[19], VERSION, T0, list_ids=("L",))
    await server.apply([changed], [])
    await server.apply([], [rows[1].face_id])  # and face 1 was removed
    await server.load_page(rows)
    assert not server.ready
    assert await server.end_load() == 18
    hits = await server.search(A, g.vectors[19:20], CandidateFilter(list_id="L"), 5)
    assert ids(hits[0]) == [rows[0].face_id]
    assert rows[1].face_id not in ids((await server.search(A, g.vectors[1:2], NO_FILTER, 20))[0])


async def test_a_failed_load_fails_searches():
    async def pages():
        yield Gallery(5, 1).rows()
        raise OSError("database went away")

    server = ShardServer(config())
    with pytest.raises(OSError):
        await server.load(pages())
    with pytest.raises(RuntimeError, match="failed to load"):
        await server.search(A, np.ones((1, DIMS), np.float32), NO_FILTER, 5)

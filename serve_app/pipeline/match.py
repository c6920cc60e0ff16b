"""The match step: each event's descriptor against the candidates of each match policy.

Faces are searched by the matcher (FAISS shards, :mod:`serve_app.matching`); stored events
are few enough per query filter to be searched exactly over the rows the filter selects.
Similarity is LUNA's, from the descriptor model's calibration; candidates below the policy's
threshold are left out; each label's candidates are best first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import select

from models import descriptor_format
from models.matching.topk import exact_topk
from serve_app.estimators import Estimators
from serve_app.http.timing import timed
from serve_app.matching.api import Matcher, candidate_filter
from serve_app.pipeline.events import Candidate, EventRecord, EventRef, FaceRef, MatchResult
from serve_app.pipeline.filters import passes
from serve_app.policies import MatchPolicy, policy_time
from serve_app.storage.lists import FaceStore
from serve_app.storage.store import Storage
from serve_app.storage.tables import Event, EventTag

# Stored events searched for one "events" match policy: the newest this many that the
# candidate filter selects. Events are a log, not a gallery; a gallery belongs in a list.
MAX_EVENT_CANDIDATES = 50_000


@timed("match")
async def match(
    estimators: Estimators,
    matcher: Matcher,
    storage: Storage,
    policies: Sequence[MatchPolicy],
    events: Sequence[EventRecord],
) -> None:
    """Fill ``events[i].matches`` with one result per policy, for events with a descriptor
    that pass the policy's filters."""
    for policy in policies:
        chosen = [e for e in events if e.descriptor is not None and passes(policy.filters, e)]
        if not chosen:
            continue
        account_id = chosen[0].meta.account_id
        version = chosen[0].descriptor.version  # type: ignore[union-attr]
        vectors = np.stack([e.descriptor.vector for e in chosen])  # type: ignore[union-attr]
        if policy.candidates.origin == "events":
            found = await _match_events(storage, account_id, version, vectors, policy)
        else:
            found = await _match_faces(matcher, storage, account_id, version, vectors, policy)
        threshold = policy.threshold or 0.0
        for event, candidates in zip(chosen, found, strict=True):
            kept = [
                c for c in _with_similarity(estimators, candidates) if c.similarity >= threshold
            ]
            event.matches.append(MatchResult(policy.label, kept))


def _with_similarity(estimators: Estimators, found: list[Candidate]) -> list[Candidate]:
    # Candidates arrive with cosines in ``similarity``; LUNA's scale is the calibrated one.
    if not found:
        return []
    scores = estimators.similarity(np.array([c.similarity for c in found]))
    return [Candidate(float(s), c.face, c.event) for c, s in zip(found, scores, strict=True)]


async def _match_faces(
    matcher: Matcher,
    storage: Storage,
    account_id: str,
    version: int,
    vectors: np.ndarray,
    policy: MatchPolicy,
) -> list[list[Candidate]]:
    """Faces through the matcher; then their stored fields, read once for all events."""
    results = await matcher.search(
        account_id, vectors, version, candidate_filter(policy.candidates), policy.limit
    )
    ids = list(dict.fromkeys(m.face_id for found in results for m in found))
    refs = await face_refs(storage, account_id, ids)
    return [
        [Candidate(m.cosine, face=refs[m.face_id]) for m in found if m.face_id in refs]
        for found in results
    ]


async def face_refs(storage: Storage, account_id: str, face_ids: list[str]) -> dict[str, FaceRef]:
    """The faces of ``account_id`` among ``face_ids``, with their lists."""
    if not face_ids:
        return {}
    async with storage.database.transaction() as session:
        faces = FaceStore(session, account_id)
        rows = await faces.get_many(face_ids)
        lists = await faces.lists_of([row.face_id for row in rows])
    return {
        row.face_id: FaceRef(
            face_id=row.face_id,
            external_id=row.external_id,
            user_data=row.user_data,
            avatar=row.avatar,
            event_id=row.event_id,
            lists=tuple(lists.get(row.face_id, [])),
            create_time=row.create_time,
        )
        for row in rows
    }


async def _match_events(
    storage: Storage, account_id: str, version: int, vectors: np.ndarray, policy: MatchPolicy
) -> list[list[Candidate]]:
    """Stored events of the account that the policy's filter selects, searched exactly."""
    candidates = policy.candidates
    query = select(Event).where(
        Event.account_id == account_id,
        Event.descriptor_version == version,
        Event.descriptor.is_not(None),
    )
    if candidates.event_ids:
        query = query.where(Event.event_id.in_(candidates.event_ids))
    if candidates.handler_ids:
        query = query.where(Event.handler_id.in_(candidates.handler_ids))
    if candidates.sources:
        query = query.where(Event.source.in_(candidates.sources))
    if candidates.external_ids:
        query = query.where(Event.external_id.in_(candidates.external_ids))
    if candidates.create_time__gte:
        query = query.where(Event.create_time >= policy_time(candidates.create_time__gte))
    if candidates.create_time__lt:
        query = query.where(Event.create_time < policy_time(candidates.create_time__lt))
    if candidates.tags:
        tagged = select(EventTag.event_id).where(EventTag.tag.in_(candidates.tags))
        query = query.where(Event.event_id.in_(tagged))
    query = query.order_by(Event.create_time.desc()).limit(MAX_EVENT_CANDIDATES)
    async with storage.database.transaction() as session:
        rows = list((await session.execute(query)).scalars())
    if not rows:
        return [[] for _ in vectors]
    matrix = np.stack(
        [descriptor_format.from_raw(row.descriptor, len(row.descriptor) // 4) for row in rows]
    )
    scores, positions = exact_topk(vectors, matrix, policy.limit)
    refs = [EventRef.of(row) for row in rows]
    return [
        [Candidate(float(s), event=refs[i]) for s, i in zip(row_scores, row_positions, strict=True)]
        for row_scores, row_positions in zip(scores, positions, strict=True)
    ]

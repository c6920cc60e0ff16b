"""Attributes from stored samples: descriptors and age/gender, kept as temporary attributes.

Shared by ``/1/extractor`` and the attribute upgrade of faces; the samples go through the
pipeline's extract step as face warps.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import update

from models import descriptor_format
from models.face.face_align import WARP_SIZE
from serve_app.errors import BAD_INPUT_GENERIC, BAD_QUERY, EVENT_NOT_FOUND, LunaError
from serve_app.estimations import aggregation
from serve_app.estimators import Estimators
from serve_app.pipeline.extract import Extracted, extract
from serve_app.pipeline.faces import Face, ImageResult
from serve_app.pipeline.plan import FACE_WARP, Plan
from serve_app.policies import Uuid
from serve_app.storage.events import EventStore
from serve_app.storage.samples import load_face_samples
from serve_app.storage.store import Storage
from serve_app.storage.tables import Event

WARP_BOX = np.array([0, 0, WARP_SIZE, WARP_SIZE], dtype=np.float32)


async def extract_from_samples(
    estimators: Estimators,
    storage: Storage,
    account_id: str,
    sample_ids: Sequence[str],
    descriptor: bool,
    basic_attributes: bool,
) -> list[Extracted]:
    """One :class:`Extracted` per sample, from the account's stored warps, through the
    pipeline's extract step (the samples are face warps)."""
    names = {"descriptor"} if descriptor else set()
    names |= {"basic_attributes"} if basic_attributes else set()
    plan = Plan(image_type=FACE_WARP, estimations=frozenset(names))
    plan.check(estimators.available)
    warps = await load_face_samples(storage, account_id, sample_ids)
    results = [
        ImageResult(sample_id, faces=[Face(box=WARP_BOX, warp=warp, sample_id=sample_id)])
        for sample_id, warp in zip(sample_ids, warps, strict=True)
    ]
    await extract(estimators, results, plan)
    return [
        Extracted([r.filename], r.faces[0].descriptor, r.faces[0].basic_attributes) for r in results
    ]


def keep_scores(results: list[Extracted], threshold: float) -> list[Extracted]:
    """Samples whose descriptor scores below ``threshold`` are left out."""
    return [r for r in results if r.descriptor is None or r.descriptor.score >= threshold]


def aggregate(results: list[Extracted]) -> Extracted:
    """All samples as one person: averaged descriptor and attributes."""
    return Extracted(
        samples=[s for r in results for s in r.samples],
        descriptor=aggregation.aggregate_descriptors(
            [r.descriptor for r in results if r.descriptor]
        ),
        basic_attributes=aggregation.aggregate_basic_attributes(
            [r.basic_attributes for r in results if r.basic_attributes]
        ),
    )


class EventUpgradeData(BaseModel):
    """What to recompute for an event, from its face samples."""

    model_config = ConfigDict(extra="forbid")
    face_descriptor: int = Field(1, ge=0, le=1)


class EventUpgradeInput(BaseModel):
    """``POST /1/extractor/upgrade`` body in its event form."""

    model_config = ConfigDict(extra="forbid")
    event_id: Uuid
    upgrade_data: EventUpgradeData = Field(default_factory=EventUpgradeData)


async def upgrade_event(
    estimators: Estimators, storage: Storage, account_id: str, body: EventUpgradeInput
) -> Extracted:
    """Give a stored event the configured model's descriptor, extracted again from the face
    samples it recorded (one descriptor for all of them), so that it can be matched by it."""
    async with storage.database.transaction() as session:
        event = await EventStore(session, account_id).get(body.event_id)
    if event is None:
        raise LunaError(EVENT_NOT_FOUND, body.event_id)
    sample_ids = _event_samples(event.body or {})
    if not sample_ids:
        raise LunaError(BAD_INPUT_GENERIC, f"event {body.event_id} has no face samples")
    if not body.upgrade_data.face_descriptor:
        raise LunaError(BAD_QUERY, "upgrade_data: nothing to upgrade")
    merged = aggregate(
        await extract_from_samples(
            estimators, storage, account_id, sample_ids, descriptor=True, basic_attributes=False
        )
    )
    assert merged.descriptor is not None
    async with storage.database.transaction() as session:
        updated = await session.execute(
            update(Event)
            .where(Event.event_id == body.event_id, Event.account_id == account_id)
            .values(
                descriptor=descriptor_format.raw(merged.descriptor.vector),
                descriptor_version=merged.descriptor.version,
            )
        )
    if updated.rowcount != 1:  # removed while the model ran
        raise LunaError(EVENT_NOT_FOUND, body.event_id)
    return merged


def _event_samples(body: dict) -> list[str]:
    """The face sample ids an event body records, in order."""
    found = []
    for detection in body.get("detections") or []:
        face = ((detection or {}).get("samples") or {}).get("face") or {}
        if face.get("sample_id"):
            found.append(face["sample_id"])
    return found

"""Attributes from stored samples: descriptors and age/gender, kept as temporary attributes.

Shared by ``/1/extractor`` and the attribute upgrade of faces; the samples go through the
pipeline's extract step as face warps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models import descriptor_format
from models.face.age_gender import AgeGender
from models.face.arcface import Descriptor
from models.face.face_align import WARP_SIZE
from serve_app import aggregation
from serve_app.estimators import Estimators
from serve_app.faces import Face, ImageResult
from serve_app.pipeline.extract import extract
from serve_app.pipeline.plan import FACE_WARP, Plan
from serve_app.samples import load_face_samples
from serve_app.storage.attributes import AttributeStore
from serve_app.storage.store import Storage
from serve_app.storage.tables import Attribute

WARP_BOX = np.array([0, 0, WARP_SIZE, WARP_SIZE], dtype=np.float32)


@dataclass
class Extracted:
    """What one group of samples gave: its descriptor and attributes (each optional)."""

    samples: list[str]
    descriptor: Descriptor | None = None
    basic_attributes: AgeGender | None = None


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
        Extracted([r.filename], r.faces[0].descriptor, r.faces[0].basic_attributes)
        for r in results
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


async def store_attributes(
    storage: Storage, account_id: str, results: list[Extracted], ttl_s: int
) -> list[Attribute]:
    """Temporary attributes for the results, in one transaction."""
    async with storage.database.transaction() as session:
        store = AttributeStore(session, account_id)
        return [
            await store.create(
                descriptor=descriptor_format.raw(r.descriptor.vector) if r.descriptor else None,
                descriptor_version=r.descriptor.version if r.descriptor else None,
                descriptor_score=r.descriptor.score if r.descriptor else None,
                basic_attributes=(
                    r.basic_attributes.rounded() if r.basic_attributes else None
                ),
                samples=r.samples,
                ttl_s=ttl_s,
            )
            for r in results
        ]

"""Verification: faces of a request compared one to one with references the client names.

A verifier (``POST /1/verifiers/{id}/verifications``) runs its detect and extract policies on
the request's images (the descriptor is always extracted), stores what its storage policy
says (face samples, temporary attributes), and compares every face with every reference:
stored faces, temporary attributes, stored events, and the faces of external ids. The
references keep the order the client gave, so ``verifications[i]`` is always reference ``i``.

The matcher routes resolve references the same way (:func:`load_references`), and the raw
routes take descriptors in the body (:class:`DescriptorEntity`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from models import descriptor_format
from models.face.arcface import Descriptor
from serve_app.errors import (
    BAD_INPUT_GENERIC,
    BAD_QUERY,
    DESCRIPTOR_VERSION,
    SOME_NOT_FOUND,
    LunaError,
)
from serve_app.estimators import Estimators
from serve_app.http.images import ImageLimits, b64decode
from serve_app.http.inputs import RAW_FILENAME, ImageInput
from serve_app.pipeline import analyse
from serve_app.pipeline.events import EventRef, FaceRef
from serve_app.pipeline.extract import Extracted
from serve_app.pipeline.faces import Face, ImageResult
from serve_app.pipeline.filters import passes
from serve_app.pipeline.match import face_refs
from serve_app.pipeline.plan import RAW_IMAGE, policy_plan
from serve_app.pipeline.store import store_attributes
from serve_app.policies import Filters, VerifierPolicies
from serve_app.storage.attributes import AttributeStore
from serve_app.storage.lists import FaceStore
from serve_app.storage.samples import store_samples
from serve_app.storage.store import Storage
from serve_app.storage.tables import Event
from serve_app.storage.tables import Face as FaceRow

# References one verification compares each face with (all id kinds together, external ids
# counted by the faces they select). LUNA publishes no number; a request naming more is
# identification, which the matcher does over lists.
MAX_REFERENCES = 100
# Descriptors a raw verification or raw matching takes on each side.
MAX_RAW_DESCRIPTORS = 1000
# How many decimals a similarity is given with (as match candidates).
SIMILARITY_DIGITS = 6


@dataclass(frozen=True)
class AttributeRef:
    """A temporary attribute as a verification names it."""

    attribute_id: str
    samples: tuple[str, ...]
    create_time: datetime
    expire_time: datetime


@dataclass(frozen=True)
class Reference:
    """One object a face is compared with, and its descriptor (a unit vector)."""

    kind: Literal["face", "attribute", "event"]
    object_id: str
    vector: np.ndarray = field(repr=False)
    face: FaceRef | None = None
    attribute: AttributeRef | None = None
    event: EventRef | None = None


@dataclass(frozen=True)
class ReferenceIds:
    """The ids a request names, each kind in the client's order."""

    face_ids: tuple[str, ...] = ()
    attribute_ids: tuple[str, ...] = ()
    event_ids: tuple[str, ...] = ()
    external_ids: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.face_ids or self.attribute_ids or self.event_ids or self.external_ids)

    def count(self) -> int:
        """How many ids are named (an external id counts once here)."""
        return sum(
            len(ids)
            for ids in (self.face_ids, self.attribute_ids, self.event_ids, self.external_ids)
        )


async def load_references(
    storage: Storage, account_id: str, version: int, ids: ReferenceIds, limit: int = MAX_REFERENCES
) -> list[Reference]:
    """The account's objects that ``ids`` name, in order: faces, attributes, events, then the
    faces of each external id (oldest first). An id the account does not have is LUNA's
    11020; an object without a descriptor of ``version`` is the descriptor version error;
    more than ``limit`` references is a bad query."""
    if ids.count() > limit:
        raise LunaError(BAD_QUERY, f"{ids.count()} references given, at most {limit} are compared")
    async with storage.database.transaction() as session:
        faces = FaceStore(session, account_id)
        if missing := await faces.missing(ids.face_ids):
            raise LunaError(SOME_NOT_FOUND, f"faces ({', '.join(missing)})")
        external = await _external_faces(session, account_id, ids.external_ids)
        face_ids = [*ids.face_ids, *external]
        if len(face_ids) + len(ids.attribute_ids) + len(ids.event_ids) > limit:
            raise LunaError(
                BAD_QUERY, f"external_ids select {len(external)} faces, at most {limit} references"
            )
        descriptors = await faces.descriptors_of(face_ids)
        attributes = await _attributes(AttributeStore(session, account_id), ids.attribute_ids)
        events = await _events(session, account_id, ids.event_ids)
    refs = await face_refs(storage, account_id, list(dict.fromkeys(face_ids)))

    def face(face_id: str) -> Reference:
        row = descriptors.get(face_id, {}).get(version)
        if row is None:
            raise LunaError(DESCRIPTOR_VERSION, version, f"face {face_id} has no such descriptor")
        return Reference("face", face_id, _vector(row.descriptor), face=refs[face_id])

    found = [face(face_id) for face_id in ids.face_ids]
    for attribute_id in ids.attribute_ids:
        attribute = attributes[attribute_id]
        if attribute.descriptor is None or attribute.descriptor_version != version:
            raise LunaError(
                DESCRIPTOR_VERSION, version, f"attribute {attribute_id} has no such descriptor"
            )
        ref = AttributeRef(
            attribute_id,
            tuple(attribute.samples),
            attribute.create_time,
            attribute.expire_time,
        )
        found.append(
            Reference("attribute", attribute_id, _vector(attribute.descriptor), attribute=ref)
        )
    for event_id in ids.event_ids:
        event = events[event_id]
        if event.descriptor is None or event.descriptor_version != version:
            raise LunaError(DESCRIPTOR_VERSION, version, f"event {event_id} has no such descriptor")
        found.append(
            Reference("event", event_id, _vector(event.descriptor), event=EventRef.of(event))
        )
    return found + [face(face_id) for face_id in external]


async def _external_faces(session, account_id: str, external_ids: Sequence[str]) -> list[str]:
    """The faces of each external id, in the order of the ids, each id's oldest first."""
    if not external_ids:
        return []
    query = (
        select(FaceRow.face_id, FaceRow.external_id)
        .where(FaceRow.account_id == account_id, FaceRow.external_id.in_(set(external_ids)))
        .order_by(FaceRow.create_time, FaceRow.face_id)
    )
    by_external: dict[str, list[str]] = {}
    for face_id, external_id in (await session.execute(query)).all():
        by_external.setdefault(external_id, []).append(face_id)
    if missing := [e for e in dict.fromkeys(external_ids) if e not in by_external]:
        raise LunaError(SOME_NOT_FOUND, f"faces with external ids ({', '.join(missing)})")
    return [face_id for e in external_ids for face_id in by_external[e]]


async def _attributes(store: AttributeStore, attribute_ids: Sequence[str]) -> dict:
    if missing := await store.missing(attribute_ids):
        raise LunaError(SOME_NOT_FOUND, f"attributes ({', '.join(missing)})")
    return {row.attribute_id: row for row in await store.get_many(attribute_ids)}


async def _events(session, account_id: str, event_ids: Sequence[str]) -> dict[str, Event]:
    if not event_ids:
        return {}
    query = select(Event).where(Event.account_id == account_id, Event.event_id.in_(set(event_ids)))
    rows = {row.event_id: row for row in (await session.execute(query)).scalars()}
    if missing := [e for e in dict.fromkeys(event_ids) if e not in rows]:
        raise LunaError(SOME_NOT_FOUND, f"events ({', '.join(missing)})")
    return rows


def _vector(data: bytes) -> np.ndarray:
    return descriptor_format.from_raw(data, len(data) // 4)


# Comparing


@dataclass(frozen=True)
class Verification:
    """One face against one reference: LUNA similarity, and whether it is the same person."""

    reference: Reference
    similarity: float
    status: bool


def similarities(estimators: Estimators, queries: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """LUNA similarity of every query (Q, D) with every candidate (C, D): (Q, C), rounded as
    answers give it."""
    if len(queries) == 0 or len(candidates) == 0:
        return np.zeros((len(queries), len(candidates)))
    cosines = np.asarray(queries, np.float32) @ np.asarray(candidates, np.float32).T
    scores = np.asarray(estimators.similarity(cosines), dtype=np.float64)
    return np.round(scores.reshape(cosines.shape), SIMILARITY_DIGITS)


def verify_descriptors(
    estimators: Estimators,
    descriptors: Sequence[Descriptor],
    references: Sequence[Reference],
    threshold: float,
) -> list[list[Verification]]:
    """For each descriptor, one verification per reference, in the references' order; the
    status compares the similarity as given (rounded) with the threshold, so that a client
    reading both never sees them disagree."""
    if not descriptors:
        return []
    queries = np.stack([d.vector for d in descriptors])
    matrix = np.stack([r.vector for r in references]) if references else np.zeros((0, 0))
    scores = similarities(estimators, queries, matrix)
    return [
        [
            Verification(ref, float(score), bool(score >= threshold))
            for ref, score in zip(references, row, strict=True)
        ]
        for row in scores
    ]


# Verifying a request


@dataclass
class VerifiedFace:
    """A face of the request (detected, or a descriptor sent instead of an image), what was
    stored of it, and its verifications."""

    face: Face
    verifications: list[Verification]
    attribute_id: str | None = None
    attribute_samples: list[str] = field(default_factory=list)


@dataclass
class VerifiedImage:
    """One input and its verified faces; ``result.filtered`` holds the faces filtered out."""

    result: ImageResult
    faces: list[VerifiedFace]
    from_descriptor: bool = False


class _Gate:
    """What a verifier's storage filters read of a face: its age and gender. A verifier has
    no match policy, so a ``match`` filter never holds."""

    def __init__(self, face: Face) -> None:
        self.face = face
        self.basic_attributes = face.basic_attributes

    def best_similarity(self, label: str) -> float | None:
        return None

    def estimation(self, name: str) -> Any:
        return self.face.estimations.get(name)


def _passes(filters: Filters, face: Face) -> bool:
    return passes(filters, _Gate(face))


async def verify(
    estimators: Estimators,
    storage: Storage,
    limits: ImageLimits,
    account_id: str,
    policies: VerifierPolicies,
    references: Sequence[Reference],
    inputs: Sequence[ImageInput] = (),
    descriptors: Sequence[Descriptor] = (),
    image_type: int = RAW_IMAGE,
    use_exif: bool = True,
) -> list[VerifiedImage]:
    """Detect and extract on the images (or take the descriptors), store samples and
    attributes as the storage policy says, and verify every face against ``references``."""
    storage_policy = policies.storage_policy
    sample_policy, attribute_policy = (
        storage_policy.face_sample_policy,
        storage_policy.attribute_policy,
    )
    if inputs:
        # Verification compares descriptors: extracted whatever the policy says.
        extract_policy = policies.extract_policy.model_copy(update={"extract_face_descriptor": 1})
        plan = policy_plan(
            policies.detect_policy,
            extract_policy,
            image_type=image_type,
            use_exif=use_exif,
            keep_warps=bool(sample_policy.store_sample),
        )
        plan.check(estimators.available)
        results = await analyse(estimators, limits, inputs, plan)
        images = [VerifiedImage(r, [VerifiedFace(f, []) for f in r.live_faces]) for r in results]
    else:
        images = [
            VerifiedImage(ImageResult(RAW_FILENAME, faces=[face]), [VerifiedFace(face, [])], True)
            for face in (
                Face(box=np.zeros(4, np.float32), estimations={"descriptor": d})
                for d in descriptors
            )
        ]
    faces = [v for image in images for v in image.faces]
    if sample_policy.store_sample:
        await store_samples(
            storage,
            account_id,
            [
                v.face
                for v in faces
                if v.face.warp is not None and _passes(sample_policy.filters, v.face)
            ],
        )
    if attribute_policy.store_attribute:
        kept = [v for v in faces if _passes(attribute_policy.filters, v.face)]
        rows = await store_attributes(
            storage,
            account_id,
            [
                Extracted(
                    [v.face.sample_id] if v.face.sample_id else [],
                    v.face.descriptor,
                    v.face.basic_attributes,
                )
                for v in kept
            ],
            attribute_policy.ttl,
        )
        for verified, row in zip(kept, rows, strict=True):
            verified.attribute_id = row.attribute_id
            verified.attribute_samples = list(row.samples)
    checked = [v for v in faces if v.face.descriptor is not None]
    found = verify_descriptors(
        estimators,
        [v.face.descriptor for v in checked],  # type: ignore[misc]
        references,
        policies.verification_threshold,
    )
    for verified, verifications in zip(checked, found, strict=True):
        verified.verifications = verifications
    return images


# Descriptors in a body (raw verification, raw matching, descriptor references)


class DescriptorEntity(BaseModel):
    """A descriptor a client sends: ``{"id", "type", "data"}`` with ``data`` the base64 (or,
    in msgpack, binary) SDK descriptor, or the raw float32 descriptor with its ``version``.
    ``xpk_file`` is LUNA's own container; its layout is not published, so it is refused."""

    model_config = ConfigDict(extra="forbid")
    id: Annotated[str, Field(min_length=1, max_length=128)]
    type: Literal["sdk_descriptor", "raw_descriptor", "xpk_file"] = "sdk_descriptor"
    data: str | bytes
    version: Annotated[int, Field(ge=0, le=65535)] | None = None

    def decode(self, version: int, dims: int, where: str) -> np.ndarray:
        """The unit vector; LUNA errors name ``where`` (the item's path) for bad data or a
        descriptor of another version than ``version``."""
        if self.type == "xpk_file":
            raise LunaError(BAD_INPUT_GENERIC, f"{where}: xpk files are not supported")
        if self.type == "raw_descriptor" and self.version is None:
            raise LunaError(BAD_INPUT_GENERIC, f"{where}: raw_descriptor needs its version")
        if self.type == "raw_descriptor" and self.version != version:
            raise LunaError(
                DESCRIPTOR_VERSION, self.version, f"{where}: this service compares {version}"
            )
        data = self.data if isinstance(self.data, bytes) else b64decode(self.data)
        try:
            if self.type == "sdk_descriptor":
                vector, found = descriptor_format.unpack(data)
            else:
                vector, found = descriptor_format.from_raw(data, dims), version
        except descriptor_format.DescriptorFormatError as exc:
            raise LunaError(BAD_INPUT_GENERIC, f"{where}: bad descriptor: {exc}") from exc
        if found != version:
            raise LunaError(DESCRIPTOR_VERSION, found, f"{where}: this service compares {version}")
        if vector.shape != (dims,):
            raise LunaError(DESCRIPTOR_VERSION, found, f"{where}: it has {dims} dimensions")
        return vector


def decode_entities(
    entities: Sequence[DescriptorEntity], version: int, dims: int, name: str
) -> np.ndarray:
    """The (N, dims) unit vectors of a body's ``name`` list."""
    return np.stack(
        [e.decode(version, dims, f"{name}.{i}") for i, e in enumerate(entities)]
    ).astype(np.float32)

"""Faces: created from an attribute or from descriptors, and upgraded from their samples."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import descriptor_format
from serve_app import presenters, views
from serve_app.errors import (
    ATTRIBUTE_NOT_FOUND,
    BAD_INPUT_GENERIC,
    DESCRIPTOR_VERSION,
    FACE_NOT_FOUND,
    SOME_NOT_FOUND,
    LunaError,
)
from serve_app.estimators import Estimators
from serve_app.extraction import aggregate, extract_from_samples
from serve_app.images import b64decode
from serve_app.policies import Uuid
from serve_app.storage.attributes import AttributeStore
from serve_app.storage.lists import FaceStore, ListStore
from serve_app.storage.store import Storage
from serve_app.storage.tables import Face


class DescriptorInput(BaseModel):
    """A descriptor sent by a client: an SDK descriptor container, or raw float32 bytes
    with their version; base64 either way."""

    model_config = ConfigDict(extra="forbid")
    sdk_descriptor: str | None = None
    raw_descriptor: str | None = None
    version: int | None = Field(None, ge=0, le=65535)

    @model_validator(mode="after")
    def _one_form(self) -> DescriptorInput:
        if (self.sdk_descriptor is None) == (self.raw_descriptor is None):
            raise ValueError("give sdk_descriptor, or raw_descriptor with its version")
        if self.raw_descriptor is not None and self.version is None:
            raise ValueError("raw_descriptor needs its version")
        return self

    def decode(self) -> tuple[bytes, int]:
        """Raw float32 bytes and version; raises LUNA errors for malformed data."""
        try:
            if self.sdk_descriptor is not None:
                vector, version = descriptor_format.unpack(b64decode(self.sdk_descriptor))
            else:
                data = b64decode(self.raw_descriptor or "")
                vector = descriptor_format.from_raw(data, len(data) // 4 if data else 0)
                version = int(self.version or 0)
        except descriptor_format.DescriptorFormatError as exc:
            raise LunaError(BAD_INPUT_GENERIC, f"bad descriptor: {exc}") from exc
        return descriptor_format.raw(vector), version


class BasicAttributesInput(BaseModel):
    """Age and gender given with descriptors."""

    model_config = ConfigDict(extra="forbid")
    age: int = Field(ge=0, le=125)
    gender: int = Field(ge=0, le=1)


class FaceInput(BaseModel):
    """A face to create: from a temporary attribute, or from descriptors."""

    model_config = ConfigDict(extra="forbid")
    attribute_id: Uuid | None = None
    descriptors: Annotated[list[DescriptorInput], Field(min_length=1, max_length=8)] | None = None
    basic_attributes: BasicAttributesInput | None = None
    user_data: str = Field("", max_length=128)
    external_id: str = Field("", max_length=36)
    avatar: str = Field("", max_length=256)
    lists: Annotated[list[Uuid], Field(max_length=100)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_source(self) -> FaceInput:
        if self.attribute_id is not None and (self.descriptors or self.basic_attributes):
            raise ValueError("give attribute_id, or descriptors (and basic_attributes), not both")
        return self


async def create_face(
    storage: Storage, account_id: str, body: FaceInput, known_sizes: dict[int, int]
) -> Face:
    """A new face, linked to its lists, in one transaction. ``known_sizes`` maps the
    descriptor versions of the configured models to their dimensions."""
    try:
        return await _create_face(storage, account_id, body, known_sizes)
    except IntegrityError as exc:  # a list removed between the check and the link
        raise LunaError(SOME_NOT_FOUND, "lists") from exc


async def _create_face(
    storage: Storage, account_id: str, body: FaceInput, known_sizes: dict[int, int]
) -> Face:
    async with storage.database.transaction() as session:
        lists = ListStore(session, account_id)
        if missing := await lists.missing(body.lists):
            raise LunaError(SOME_NOT_FOUND, f"lists ({', '.join(missing)})")
        descriptors: dict[int, tuple[bytes, float | None]] = {}
        basic, samples = None, []
        if body.attribute_id is not None:
            attribute = await AttributeStore(session, account_id).get(body.attribute_id)
            if attribute is None:
                raise LunaError(ATTRIBUTE_NOT_FOUND, body.attribute_id)
            if attribute.descriptor is not None and attribute.descriptor_version is not None:
                descriptors[attribute.descriptor_version] = (
                    attribute.descriptor,
                    attribute.descriptor_score,
                )
            basic, samples = attribute.basic_attributes, list(attribute.samples)
        else:
            for item in body.descriptors or []:
                data, version = item.decode()
                size = known_sizes.get(version)
                if size is not None and len(data) != 4 * size:
                    raise LunaError(DESCRIPTOR_VERSION, version, f"it has {size} dimensions")
                if version in descriptors:
                    raise LunaError(DESCRIPTOR_VERSION, version, "given twice")
                descriptors[version] = (data, None)
            if body.basic_attributes is not None:
                basic = body.basic_attributes.model_dump()
        face = await FaceStore(session, account_id).create(
            descriptors, basic, samples, body.user_data, body.external_id, avatar=body.avatar
        )
        for list_id in body.lists:
            await lists.attach(list_id, [face.face_id])
    return face


class UpgradeData(BaseModel):
    """What to recompute for a face, and from which samples (default: the face's own)."""

    model_config = ConfigDict(extra="forbid")
    samples: Annotated[list[Uuid], Field(min_length=1, max_length=100)] | None = None
    face_descriptor: int = Field(1, ge=0, le=1)
    basic_attributes: int = Field(0, ge=0, le=1)


class UpgradeInput(BaseModel):
    """``POST /1/extractor/upgrade`` body."""

    model_config = ConfigDict(extra="forbid")
    face_id: Uuid
    upgrade_data: UpgradeData = Field(default_factory=UpgradeData)


async def upgrade_face(
    estimators: Estimators, storage: Storage, account_id: str, body: UpgradeInput
) -> Face:
    """Add the configured model's descriptor to a face and/or replace its age and gender,
    computed from samples; the face keeps its descriptors of other versions."""
    async with storage.database.transaction() as session:
        face = await FaceStore(session, account_id).get(body.face_id)
    if face is None:
        raise LunaError(FACE_NOT_FOUND, body.face_id)
    data = body.upgrade_data
    sample_ids = data.samples or list(face.samples)
    if not sample_ids:
        raise LunaError(BAD_INPUT_GENERIC, f"face {face.face_id} has no samples to upgrade from")
    extracted = await extract_from_samples(
        estimators,
        storage,
        account_id,
        sample_ids,
        descriptor=bool(data.face_descriptor),
        basic_attributes=bool(data.basic_attributes),
    )
    merged = aggregate(extracted)
    try:
        async with storage.database.transaction() as session:
            faces = FaceStore(session, account_id)
            # Read again: the face may have changed or gone while the models ran.
            current = await faces.get(face.face_id)
            if current is None:
                raise LunaError(FACE_NOT_FOUND, face.face_id)
            fields: dict = {"samples": list(dict.fromkeys([*current.samples, *sample_ids]))}
            if merged.basic_attributes is not None:
                fields["basic_attributes"] = presenters.basic_attributes(merged.basic_attributes)
            await faces.update(face.face_id, **fields)
            if merged.descriptor is not None:
                await faces.put_descriptor(
                    face.face_id,
                    merged.descriptor.version,
                    descriptor_format.raw(merged.descriptor.vector),
                    merged.descriptor.score,
                )
            return await faces.get(face.face_id)
    except IntegrityError as exc:  # removed between the read and the descriptor's insert
        raise LunaError(FACE_NOT_FOUND, face.face_id) from exc


async def face_view(session: AsyncSession, account_id: str, face_id: str) -> dict:
    """The face as its routes show it: fields, lists, descriptor versions, attributes."""
    faces = FaceStore(session, account_id)
    row = await faces.get(face_id)
    if row is None:
        raise LunaError(FACE_NOT_FOUND, face_id)
    lists = (await faces.lists_of([face_id]))[face_id]
    descriptors = (await faces.descriptors_of([face_id]))[face_id]
    return views.face(row, lists, descriptors)

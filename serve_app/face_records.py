"""Every change to a face: created (from a temporary attribute or from descriptors),
updated, upgraded from its samples, linked to or unlinked from lists, removed, or unlinked
by the removal of a list.

Routes and pipelines change faces only through the functions here, each one transaction, so
that whatever must follow a change to a face (a matcher's index) is done in this module.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import descriptor_format
from serve_app.errors import (
    ATTRIBUTE_NOT_FOUND,
    BAD_INPUT_GENERIC,
    DESCRIPTOR_VERSION,
    FACE_NOT_FOUND,
    LIST_NOT_FOUND,
    SOME_NOT_FOUND,
    LunaError,
)
from serve_app.estimators import Estimators
from serve_app.http.images import b64decode
from serve_app.pipeline.extraction import aggregate, extract_from_samples
from serve_app.pipeline.store import add_face
from serve_app.policies import Uuid
from serve_app.storage.attributes import AttributeStore
from serve_app.storage.lists import FaceStore, ListStore
from serve_app.storage.store import Storage
from serve_app.storage.tables import Face, ListFace


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


class FaceAttributeInput(BaseModel):
    """What a new face holds, as LUNA Faces takes it in ``attribute``: a temporary
    attribute's id, or descriptors and/or basic attributes."""

    model_config = ConfigDict(extra="forbid")
    attribute_id: Uuid | None = None
    descriptors: Annotated[list[DescriptorInput], Field(min_length=1, max_length=8)] | None = None
    basic_attributes: BasicAttributesInput | None = None

    @model_validator(mode="after")
    def _one_source(self) -> FaceAttributeInput:
        if self.attribute_id is not None and (self.descriptors or self.basic_attributes):
            raise ValueError("give attribute_id, or descriptors (and basic_attributes), not both")
        return self


class FaceInput(FaceAttributeInput):
    """A face to create, as LUNA Faces takes it: ``{"attribute": {...}, "user_data",
    "external_id", "avatar", "lists"}``.

    The attribute's fields are also taken at the top level (``{"attribute_id": ...}``), the
    form this service took first: it is this model's own fields, so keeping it costs nothing
    and breaks no client. One request uses one form or the other.
    """

    attribute: FaceAttributeInput | None = None
    user_data: str = Field("", max_length=128)
    external_id: str = Field("", max_length=36)
    avatar: str = Field("", max_length=256)
    lists: Annotated[list[Uuid], Field(max_length=100)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_form(self) -> FaceInput:
        flat = (self.attribute_id, self.descriptors, self.basic_attributes)
        if self.attribute is not None and any(field is not None for field in flat):
            raise ValueError(
                "give attribute, or attribute_id / descriptors / basic_attributes at the top "
                "level, not both"
            )
        return self

    def source(self) -> FaceAttributeInput:
        """What the face holds, whichever form the client used."""
        return self.attribute if self.attribute is not None else self


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
        descriptors, basic, samples = await _held(session, account_id, body.source(), known_sizes)
        return await add_face(
            session,
            account_id,
            descriptors,
            basic,
            samples,
            user_data=body.user_data,
            external_id=body.external_id,
            avatar=body.avatar,
            lists=body.lists,
        )


async def _held(
    session: AsyncSession, account_id: str, source: FaceAttributeInput, known_sizes: dict[int, int]
) -> tuple[dict[int, tuple[bytes, float | None]], dict | None, list[str]]:
    """What a new face holds: descriptors (version -> (bytes, score)), basic attributes and
    samples, from a temporary attribute or from the client's descriptors."""
    descriptors: dict[int, tuple[bytes, float | None]] = {}
    if source.attribute_id is not None:
        attribute = await AttributeStore(session, account_id).get(source.attribute_id)
        if attribute is None:
            raise LunaError(ATTRIBUTE_NOT_FOUND, source.attribute_id)
        if attribute.descriptor is not None and attribute.descriptor_version is not None:
            descriptors[attribute.descriptor_version] = (
                attribute.descriptor,
                attribute.descriptor_score,
            )
        return descriptors, attribute.basic_attributes, list(attribute.samples)
    for item in source.descriptors or []:
        data, version = item.decode()
        size = known_sizes.get(version)
        if size is not None and len(data) != 4 * size:
            raise LunaError(DESCRIPTOR_VERSION, version, f"it has {size} dimensions")
        if version in descriptors:
            raise LunaError(DESCRIPTOR_VERSION, version, "given twice")
        descriptors[version] = (data, None)
    basic = source.basic_attributes.model_dump() if source.basic_attributes else None
    return descriptors, basic, []


async def update_face(storage: Storage, account_id: str, face_id: str, **fields: object) -> None:
    """Set some of the face's fields (``user_data``, ``external_id``)."""
    async with storage.database.transaction() as session:
        if not await FaceStore(session, account_id).update(face_id, **fields):
            raise LunaError(FACE_NOT_FOUND, face_id)


async def remove_face(storage: Storage, account_id: str, face_id: str) -> None:
    """Remove the face, its descriptors and its list links."""
    async with storage.database.transaction() as session:
        if not await FaceStore(session, account_id).remove(face_id):
            raise LunaError(FACE_NOT_FOUND, face_id)


async def link_faces(
    storage: Storage,
    account_id: str,
    list_id: str,
    action: Literal["attach", "detach"],
    face_ids: list[str],
) -> None:
    """Attach faces to the list, or detach them; the list and every face must be the
    account's."""
    try:
        async with storage.database.transaction() as session:
            lists = ListStore(session, account_id)
            if await lists.get(list_id) is None:
                raise LunaError(LIST_NOT_FOUND, list_id)
            if missing := await FaceStore(session, account_id).missing(face_ids):
                raise LunaError(SOME_NOT_FOUND, f"faces ({', '.join(missing)})")
            if action == "attach":
                await lists.attach(list_id, face_ids)
            else:
                await lists.detach(list_id, face_ids)
    except IntegrityError as exc:  # the list or a face removed between check and link
        raise LunaError(SOME_NOT_FOUND, "faces or list") from exc


async def remove_list(storage: Storage, account_id: str, list_id: str) -> list[str]:
    """Remove the list; returns the faces that were in it. They stay, but leave it: that
    changes them too, so the list's removal belongs with the other changes to faces."""
    async with storage.database.transaction() as session:
        members = await session.execute(select(ListFace.face_id).where(ListFace.list_id == list_id))
        face_ids = list(members.scalars())
        if not await ListStore(session, account_id).remove(list_id):
            raise LunaError(LIST_NOT_FOUND, list_id)
    return face_ids


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
                fields["basic_attributes"] = merged.basic_attributes.rounded()
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

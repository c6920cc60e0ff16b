"""Faces, shaped like LUNA Faces' API: create, list, get, update, remove. Every change goes
through :mod:`serve_app.face_records`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from serve_app import face_records
from serve_app.errors import FACE_NOT_FOUND, LunaError
from serve_app.estimators import FACE_DESCRIPTOR
from serve_app.face_records import FaceInput
from serve_app.http.json_body import read_model
from serve_app.http.openapi_docs import json_body
from serve_app.http.protocol import created, respond
from serve_app.policies import Uuid
from serve_app.routes.deps import AccountFilter, AccountId, AccountScope, Page, ServicesDep
from serve_app.routes.stored import ObjectId
from serve_app.storage.lists import FaceStore
from serve_app.views import objects as views

router = APIRouter(tags=["faces"])


class FacePatch(BaseModel):
    """Fields of a face a client may change."""

    model_config = ConfigDict(extra="forbid")
    user_data: str | None = Field(None, max_length=128)
    external_id: str | None = Field(None, max_length=36)


class FaceFilters(BaseModel):
    """Filters of the face list."""

    list_id: Uuid | None = None
    external_id: str | None = Field(None, max_length=36)


@router.post("/1/faces", summary="create face", status_code=201, openapi_extra=json_body(FaceInput))
async def post_face(request: Request, account_id: AccountId, services: ServicesDep) -> Response:
    """Create a face from a temporary attribute or from descriptors, in its lists:
    ``{"attribute": {"attribute_id"} or {"descriptors", "basic_attributes"}, "user_data",
    "external_id", "avatar", "lists"}`` (the attribute's fields may also stand at the top)."""
    body = await read_model(request, FaceInput)
    storage = await services.storage.ready()
    known = {}
    if services.estimators.available(FACE_DESCRIPTOR):
        extractor = services.estimators.adapter(FACE_DESCRIPTOR)
        known[extractor.descriptor_version] = extractor.descriptor_size
    face = await face_records.create_face(storage, account_id, body, known)
    await services.faces_changed(account_id, [face.face_id])
    return created(request, "face_id", face.face_id, "faces")


@router.get("/1/faces", summary="get faces")
async def list_faces(
    request: Request,
    account_id: AccountFilter,
    services: ServicesDep,
    page: Annotated[Page, Query()],
    filters: Annotated[FaceFilters, Query()],
) -> Response:
    """One page of the account's faces (every account's when none is named; of one list, or
    one external id), newest first."""
    async with services.transaction() as session:
        faces = FaceStore(session, account_id)
        rows = await faces.find(filters.list_id, filters.external_id, page.offset, page.page_size)
        ids = [row.face_id for row in rows]
        lists, descriptors = await faces.lists_of(ids), await faces.descriptors_of(ids)
    shown = [views.face(row, lists[row.face_id], descriptors[row.face_id]) for row in rows]
    return respond(request, {"faces": shown})


@router.get("/1/faces/{face_id}", summary="get face")
async def get_face(
    request: Request, face_id: ObjectId, account_id: AccountScope, services: ServicesDep
) -> Response:
    """The face, its lists and what it holds."""
    async with services.transaction() as session:
        return respond(request, await face_view(session, account_id, face_id))


@router.patch(
    "/1/faces/{face_id}", summary="update face", status_code=204, openapi_extra=json_body(FacePatch)
)
async def patch_face(
    request: Request, face_id: ObjectId, account_id: AccountId, services: ServicesDep
) -> Response:
    """Change the face's ``user_data`` and/or ``external_id``."""
    body = await read_model(request, FacePatch)
    storage = await services.storage.ready()
    await face_records.update_face(
        storage, account_id, face_id, **body.model_dump(exclude_none=True)
    )
    await services.faces_changed(account_id, [face_id])
    return Response(status_code=204)


@router.delete("/1/faces/{face_id}", summary="remove face", status_code=204)
async def remove_face(
    face_id: ObjectId, account_id: AccountScope, services: ServicesDep
) -> Response:
    """Remove the face, its descriptors and its list links."""
    await face_records.remove_face(await services.storage.ready(), account_id, face_id)
    await services.faces_changed(account_id, [face_id])
    return Response(status_code=204)


async def face_view(session: AsyncSession, account_id: str, face_id: str) -> dict:
    """The face as its routes show it: fields, lists, descriptor versions, attributes."""
    faces = FaceStore(session, account_id)
    row = await faces.get(face_id)
    if row is None:
        raise LunaError(FACE_NOT_FOUND, face_id)
    lists = (await faces.lists_of([face_id]))[face_id]
    descriptors = (await faces.descriptors_of([face_id]))[face_id]
    return views.face(row, lists, descriptors)

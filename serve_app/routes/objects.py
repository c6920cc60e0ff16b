"""Samples, attributes, faces and lists: the small LUNA Faces-shaped surface that handlers'
policies and verifications refer to (docs/faces-api.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from starlette.responses import Response

from serve_app import samples, views
from serve_app.errors import (
    ATTRIBUTE_NOT_FOUND,
    FACE_NOT_FOUND,
    LIST_NOT_FOUND,
    SOME_NOT_FOUND,
    LunaError,
)
from serve_app.estimators import FACE_DESCRIPTOR
from serve_app.face_records import FaceInput, create_face, face_view
from serve_app.json_body import read_model
from serve_app.openapi_docs import json_body
from serve_app.policies import Uuid
from serve_app.protocol import created, respond
from serve_app.routes.deps import AccountId, AccountScope, Page, ServicesDep
from serve_app.routes.handlers import HandlerId
from serve_app.samples import read_face_sample
from serve_app.storage.attributes import AttributeStore
from serve_app.storage.lists import FaceStore, ListStore

router = APIRouter(tags=["faces"])
ObjectId = HandlerId


@router.get("/1/samples/faces/{sample_id}", summary="get face sample")
async def get_face_sample(
    sample_id: ObjectId, account_id: AccountScope, services: ServicesDep
) -> Response:
    """The sample's 250x250 face warp, JPEG."""
    storage = await services.storage.ready()
    return Response(await read_face_sample(storage, account_id, sample_id), media_type="image/jpeg")


@router.delete("/1/samples/faces/{sample_id}", summary="remove face sample", status_code=204)
async def remove_face_sample(
    sample_id: ObjectId, account_id: AccountScope, services: ServicesDep
) -> Response:
    """Remove the sample and its image. Samples stay until removed (as in LUNA's store)."""
    await samples.remove_face_sample(await services.storage.ready(), account_id, sample_id)
    return Response(status_code=204)


@router.get("/1/attributes/{attribute_id}", summary="get temporary attribute")
async def get_attribute(
    request: Request, attribute_id: ObjectId, account_id: AccountScope, services: ServicesDep
) -> Response:
    """The attribute until its ttl runs out, with its descriptor as an SDK descriptor."""
    async with services.transaction() as session:
        row = await AttributeStore(session, account_id).get(attribute_id)
    if row is None:
        raise LunaError(ATTRIBUTE_NOT_FOUND, attribute_id)
    return respond(request, views.attribute(row))


@router.delete(
    "/1/attributes/{attribute_id}", summary="remove temporary attribute", status_code=204
)
async def remove_attribute(
    attribute_id: ObjectId, account_id: AccountScope, services: ServicesDep
) -> Response:
    """Remove the attribute before its ttl."""
    async with services.transaction() as session:
        removed = await AttributeStore(session, account_id).remove(attribute_id)
    if not removed:
        raise LunaError(ATTRIBUTE_NOT_FOUND, attribute_id)
    return Response(status_code=204)


# Faces


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
    """Create a face from a temporary attribute or from descriptors, in its lists."""
    body = await read_model(request, FaceInput)
    storage = await services.storage.ready()
    known = {}
    if services.estimators.available(FACE_DESCRIPTOR):
        extractor = services.estimators.adapter(FACE_DESCRIPTOR)
        known[extractor.descriptor_version] = extractor.descriptor_size
    face = await create_face(storage, account_id, body, known)
    return created(request, "face_id", face.face_id, "faces")


@router.get("/1/faces", summary="get faces")
async def list_faces(
    request: Request,
    account_id: AccountScope,
    services: ServicesDep,
    page: Annotated[Page, Query()],
    filters: Annotated[FaceFilters, Query()],
) -> Response:
    """One page of the account's faces (of one list, or one external id), newest first."""
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
    async with services.transaction() as session:
        updated = await FaceStore(session, account_id).update(
            face_id, **body.model_dump(exclude_none=True)
        )
    if not updated:
        raise LunaError(FACE_NOT_FOUND, face_id)
    return Response(status_code=204)


@router.delete("/1/faces/{face_id}", summary="remove face", status_code=204)
async def remove_face(
    face_id: ObjectId, account_id: AccountScope, services: ServicesDep
) -> Response:
    """Remove the face, its descriptors and its list links."""
    async with services.transaction() as session:
        removed = await FaceStore(session, account_id).remove(face_id)
    if not removed:
        raise LunaError(FACE_NOT_FOUND, face_id)
    return Response(status_code=204)


# Lists


class ListInput(BaseModel):
    """A list to create."""

    model_config = ConfigDict(extra="forbid")
    user_data: str = Field("", max_length=128)


class ListLinks(BaseModel):
    """Faces to attach to or detach from a list."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["attach", "detach"]
    face_ids: Annotated[list[Uuid], Field(min_length=1, max_length=1000)]


class ListFilters(BaseModel):
    """Filter of the list of lists."""

    user_data: str | None = Field(None, max_length=128)


@router.post("/1/lists", summary="create list", status_code=201, openapi_extra=json_body(ListInput))
async def post_list(request: Request, account_id: AccountId, services: ServicesDep) -> Response:
    """Create an empty list."""
    body = await read_model(request, ListInput)
    async with services.transaction() as session:
        row = await ListStore(session, account_id).create(body.user_data)
    return created(request, "list_id", row.list_id, "lists")


@router.get("/1/lists", summary="get lists")
async def list_lists(
    request: Request,
    account_id: AccountScope,
    services: ServicesDep,
    page: Annotated[Page, Query()],
    filters: Annotated[ListFilters, Query()],
) -> Response:
    """One page of the account's lists, newest first."""
    async with services.transaction() as session:
        lists = ListStore(session, account_id)
        rows = await lists.find(filters.user_data, page.offset, page.page_size)
        counts = await lists.count_faces(row.list_id for row in rows)
    return respond(request, {"lists": [views.face_list(r, counts[r.list_id]) for r in rows]})


@router.get("/1/lists/{list_id}", summary="get list")
async def get_list(
    request: Request, list_id: ObjectId, account_id: AccountScope, services: ServicesDep
) -> Response:
    """The list and how many faces it holds."""
    async with services.transaction() as session:
        lists = ListStore(session, account_id)
        row = await lists.get(list_id)
        if row is None:
            raise LunaError(LIST_NOT_FOUND, list_id)
        count = (await lists.count_faces([list_id]))[list_id]
    return respond(request, views.face_list(row, count))


@router.patch(
    "/1/lists/{list_id}/faces",
    summary="attach or detach faces",
    status_code=204,
    openapi_extra=json_body(ListLinks),
)
async def link_faces(
    request: Request, list_id: ObjectId, account_id: AccountId, services: ServicesDep
) -> Response:
    """Attach faces to the list, or detach them; all must be faces of the account."""
    body = await read_model(request, ListLinks)
    try:
        async with services.transaction() as session:
            lists = ListStore(session, account_id)
            if await lists.get(list_id) is None:
                raise LunaError(LIST_NOT_FOUND, list_id)
            if missing := await FaceStore(session, account_id).missing(body.face_ids):
                raise LunaError(SOME_NOT_FOUND, f"faces ({', '.join(missing)})")
            if body.action == "attach":
                await lists.attach(list_id, body.face_ids)
            else:
                await lists.detach(list_id, body.face_ids)
    except IntegrityError as exc:  # the list or a face removed between check and link
        raise LunaError(SOME_NOT_FOUND, "faces or list") from exc
    return Response(status_code=204)


@router.delete("/1/lists/{list_id}", summary="remove list", status_code=204)
async def remove_list(
    list_id: ObjectId, account_id: AccountScope, services: ServicesDep
) -> Response:
    """Remove the list; its faces stay."""
    async with services.transaction() as session:
        removed = await ListStore(session, account_id).remove(list_id)
    if not removed:
        raise LunaError(LIST_NOT_FOUND, list_id)
    return Response(status_code=204)

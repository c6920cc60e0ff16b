"""Lists of faces, shaped like LUNA Faces' API: create, list, get, attach or detach faces,
remove. Changes to which faces a list holds go through :mod:`serve_app.face_records`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from serve_app import face_records
from serve_app.errors import LIST_NOT_FOUND, LunaError
from serve_app.http.json_body import read_model
from serve_app.http.openapi_docs import json_body
from serve_app.http.protocol import created, respond
from serve_app.policies import Uuid
from serve_app.routes.deps import AccountFilter, AccountId, AccountScope, Page, ServicesDep
from serve_app.routes.stored import ObjectId
from serve_app.storage.lists import ListStore
from serve_app.views import objects as views

router = APIRouter(tags=["faces"])


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
    account_id: AccountFilter,
    services: ServicesDep,
    page: Annotated[Page, Query()],
    filters: Annotated[ListFilters, Query()],
) -> Response:
    """One page of the account's lists (every account's when none is named), newest first."""
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
    storage = await services.storage.ready()
    await face_records.link_faces(storage, account_id, list_id, body.action, body.face_ids)
    await services.faces_changed(account_id, body.face_ids)
    return Response(status_code=204)


@router.delete("/1/lists/{list_id}", summary="remove list", status_code=204)
async def remove_list(
    list_id: ObjectId, account_id: AccountScope, services: ServicesDep
) -> Response:
    """Remove the list; its faces stay."""
    members = await face_records.remove_list(await services.storage.ready(), account_id, list_id)
    await services.faces_changed(account_id, members)
    return Response(status_code=204)

"""Handlers: create, list, count, get, replace, check, remove, and validate policies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from serve_app.errors import BAD_JSON, HANDLER_NOT_FOUND, SOME_NOT_FOUND, LunaError
from serve_app.http.json_body import read_model
from serve_app.http.openapi_docs import json_body
from serve_app.http.protocol import created, respond
from serve_app.pipeline.plan import check_policies
from serve_app.policies import Policies
from serve_app.routes.deps import AccountFilter, AccountId, AccountScope, Page, ServicesDep
from serve_app.routes.stored import DescribedBody, DescriptionFilter, ObjectId, Stored
from serve_app.services import Services
from serve_app.storage.handlers import HandlerStore
from serve_app.storage.lists import ListStore
from serve_app.views import objects as views

router = APIRouter(tags=["handlers"])
HandlerId = ObjectId
HANDLERS = Stored(HandlerStore, HANDLER_NOT_FOUND)


class HandlerBody(DescribedBody):
    """A handler as clients send it."""

    policies: Policies = Field(default_factory=Policies)
    is_dynamic: bool = False


class ValidatorBody(BaseModel):
    """Policies to validate."""

    model_config = ConfigDict(extra="forbid")
    policies: Policies


class HandlerFilters(DescriptionFilter):
    """Filters of list and count."""

    is_dynamic: int | None = Field(None, ge=0, le=1)


async def check_references(store: ListStore, policies: Policies) -> None:
    """Policies may only name the account's own lists, and match in its own data."""
    for index, match in enumerate(policies.match_policy):
        if (match.candidates.account_id or store.account_id).lower() != store.account_id:
            path = f"policies.match_policy.{index}.candidates.account_id"
            raise LunaError(BAD_JSON, path, "candidates must belong to the handler's account")
    if missing := await store.missing(policies.list_ids()):
        raise LunaError(SOME_NOT_FOUND, f"lists ({', '.join(missing)})", status=400)


async def _stored_fields(
    session: AsyncSession, account_id: str, body: HandlerBody, services: Services
) -> tuple[str, dict, bool]:
    """What create and replace store: the body's fields, once its policies' references and
    estimators are checked (a dynamic handler's policies come with each request and are not
    kept)."""
    if not body.is_dynamic:
        check_policies(body.policies, services.estimators.available)
        await check_references(ListStore(session, account_id), body.policies)
    return body.description, body.policies.model_dump(mode="json"), body.is_dynamic


@router.post(
    "/1/handlers", summary="create handler", status_code=201, openapi_extra=json_body(HandlerBody)
)
async def create_handler(
    request: Request, account_id: AccountId, services: ServicesDep
) -> Response:
    """Create a handler; its policies are validated completely first."""
    body = await read_model(request, HandlerBody)
    async with services.transaction() as session:
        fields = await _stored_fields(session, account_id, body, services)
        row = await HandlerStore(session, account_id).create(*fields)
    return created(request, "handler_id", row.handler_id, "handlers")


@router.get("/1/handlers", summary="get handlers")
async def list_handlers(
    request: Request,
    account_id: AccountFilter,
    services: ServicesDep,
    page: Annotated[Page, Query()],
    filters: Annotated[HandlerFilters, Query()],
) -> Response:
    """One page of the account's handlers (every account's when none is named), newest
    first."""
    async with services.transaction() as session:
        rows = await HandlerStore(session, account_id).find(
            filters.description, filters.is_dynamic, page.offset, page.page_size
        )
    return respond(request, [views.handler(row) for row in rows])


@router.get("/1/handlers/count", summary="get handler count")
async def count_handlers(
    request: Request,
    account_id: AccountFilter,
    services: ServicesDep,
    filters: Annotated[HandlerFilters, Query()],
) -> Response:
    """How many handlers the account has (every account, when none is named) matching the
    filters."""
    async with services.transaction() as session:
        count = await HandlerStore(session, account_id).count(
            filters.description, filters.is_dynamic
        )
    return respond(request, {"handlers_count": count})


@router.post(
    "/1/handlers/validator",
    summary="validate handler policies",
    status_code=204,
    openapi_extra=json_body(ValidatorBody),
)
async def validate_policies(
    request: Request, account_id: AccountId, services: ServicesDep
) -> Response:
    """204 when the policies are valid and this deployment has what they need; LUNA's
    validation error naming the bad field, or its licence error naming the estimator."""
    body = await read_model(request, ValidatorBody)
    check_policies(body.policies, services.estimators.available)
    return Response(status_code=204)


@router.get("/1/handlers/{handler_id}", summary="get handler")
async def get_handler(
    request: Request, handler_id: HandlerId, account_id: AccountScope, services: ServicesDep
) -> Response:
    """The handler, as stored."""
    return respond(request, views.handler(await HANDLERS.get(services, account_id, handler_id)))


@router.put(
    "/1/handlers/{handler_id}",
    summary="replace handler",
    status_code=204,
    openapi_extra=json_body(HandlerBody),
)
async def replace_handler(
    request: Request, handler_id: HandlerId, account_id: AccountId, services: ServicesDep
) -> Response:
    """Replace the whole handler."""
    body = await read_model(request, HandlerBody)
    async with services.transaction() as session:
        fields = await _stored_fields(session, account_id, body, services)
        replaced = await HandlerStore(session, account_id).replace(handler_id, *fields)
    if not replaced:
        raise LunaError(HANDLER_NOT_FOUND, handler_id)
    return Response(status_code=204)


@router.head("/1/handlers/{handler_id}", summary="check to exist a handler")
async def check_handler(
    handler_id: HandlerId, account_id: AccountScope, services: ServicesDep
) -> Response:
    """200 when the handler exists, 404 when not."""
    return await HANDLERS.check(services, account_id, handler_id)


@router.delete("/1/handlers/{handler_id}", summary="remove handler", status_code=204)
async def remove_handler(
    handler_id: HandlerId, account_id: AccountScope, services: ServicesDep
) -> Response:
    """Remove the handler (events it made stay)."""
    return await HANDLERS.remove(services, account_id, handler_id)

"""Verifiers: create, list, count, get, replace (version grows), check, remove."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import Field
from starlette.responses import Response

from serve_app.errors import VERIFIER_NOT_FOUND, LunaError
from serve_app.http.json_body import read_model
from serve_app.http.openapi_docs import json_body
from serve_app.http.protocol import created, respond
from serve_app.policies import VerifierPolicies
from serve_app.routes.deps import AccountFilter, AccountId, AccountScope, Page, ServicesDep
from serve_app.routes.stored import DescribedBody, DescriptionFilter, ObjectId, Stored
from serve_app.storage.handlers import VerifierStore
from serve_app.views import objects as views

router = APIRouter(tags=["verifiers"])
VerifierId = ObjectId
VERIFIERS = Stored(VerifierStore, VERIFIER_NOT_FOUND)


class VerifierBody(DescribedBody):
    """A verifier as clients send it."""

    policies: VerifierPolicies = Field(default_factory=VerifierPolicies)


@router.post(
    "/1/verifiers",
    summary="create verifier",
    status_code=201,
    openapi_extra=json_body(VerifierBody),
)
async def create_verifier(
    request: Request, account_id: AccountId, services: ServicesDep
) -> Response:
    """Create a verifier, version 1."""
    body = await read_model(request, VerifierBody)
    async with services.transaction() as session:
        row = await VerifierStore(session, account_id).create(
            body.description, body.policies.model_dump(mode="json")
        )
    return created(request, "verifier_id", row.verifier_id, "verifiers")


@router.get("/1/verifiers", summary="get verifiers")
async def list_verifiers(
    request: Request,
    account_id: AccountFilter,
    services: ServicesDep,
    page: Annotated[Page, Query()],
    filters: Annotated[DescriptionFilter, Query()],
) -> Response:
    """One page of the account's verifiers (every account's when none is named), newest
    first."""
    async with services.transaction() as session:
        rows = await VerifierStore(session, account_id).find(
            filters.description, page.offset, page.page_size
        )
    return respond(request, [views.verifier(row) for row in rows])


@router.get("/1/verifiers/count", summary="count verifiers")
async def count_verifiers(
    request: Request,
    account_id: AccountFilter,
    services: ServicesDep,
    filters: Annotated[DescriptionFilter, Query()],
) -> Response:
    """How many verifiers the account has (every account, when none is named) matching the
    filter."""
    async with services.transaction() as session:
        count = await VerifierStore(session, account_id).count(filters.description)
    return respond(request, {"verifiers_count": count})


@router.get("/1/verifiers/{verifier_id}", summary="get verifier")
async def get_verifier(
    request: Request, verifier_id: VerifierId, account_id: AccountScope, services: ServicesDep
) -> Response:
    """The verifier, as stored, with its version."""
    return respond(request, views.verifier(await VERIFIERS.get(services, account_id, verifier_id)))


@router.put(
    "/1/verifiers/{verifier_id}", summary="replace verifier", openapi_extra=json_body(VerifierBody)
)
async def replace_verifier(
    request: Request, verifier_id: VerifierId, account_id: AccountId, services: ServicesDep
) -> Response:
    """Replace the whole verifier; answers its new version."""
    body = await read_model(request, VerifierBody)
    async with services.transaction() as session:
        version = await VerifierStore(session, account_id).replace(
            verifier_id, body.description, body.policies.model_dump(mode="json")
        )
    if version is None:
        raise LunaError(VERIFIER_NOT_FOUND, verifier_id)
    return respond(request, {"version": version})


@router.head("/1/verifiers/{verifier_id}", summary="check verifier")
async def check_verifier(
    verifier_id: VerifierId, account_id: AccountScope, services: ServicesDep
) -> Response:
    """200 when the verifier exists, 404 when not."""
    return await VERIFIERS.check(services, account_id, verifier_id)


@router.delete("/1/verifiers/{verifier_id}", summary="remove verifier", status_code=204)
async def remove_verifier(
    verifier_id: VerifierId, account_id: AccountScope, services: ServicesDep
) -> Response:
    """Remove the verifier."""
    return await VERIFIERS.remove(services, account_id, verifier_id)

"""Accounts and their tokens, shaped like LUNA API's: create an account, read it, and
issue, list, read and revoke bearer tokens (docs/auth.md).

Creating accounts needs admin credentials when authentication is on (the first admin comes
from the configuration). Token routes act on the authenticated account's own tokens; a
token is issued only to a login and password, so that a token cannot outlive itself by
minting others.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from starlette.responses import Response

from serve_app.errors import (
    ACCOUNT_EXISTS,
    ACCOUNT_NOT_FOUND,
    ADMIN_REQUIRED,
    AUTH_FAILED,
    TOKEN_NOT_FOUND,
    LunaError,
)
from serve_app.http import auth
from serve_app.http.auth import Principal, principal_of
from serve_app.http.json_body import read_model
from serve_app.http.openapi_docs import json_body
from serve_app.http.protocol import respond
from serve_app.policies import Uuid
from serve_app.routes.deps import Page, ServicesDep
from serve_app.routes.stored import ObjectId
from serve_app.storage.accounts import Accounts, LoginTaken
from serve_app.storage.tables import Account, AccountToken, utcnow
from serve_app.views import schemas
from serve_app.views.objects import timestamp

router = APIRouter(tags=["accounts"])


def _error(description: str) -> dict[str, Any]:
    return {"model": schemas.Error, "description": description}


ERRORS: dict[int | str, dict[str, Any]] = {
    401: _error("No credentials, or credentials that do not verify (11065)"),
    403: _error("The account may not do this (11059), or names another account (11069)"),
}


class AccountInput(BaseModel):
    """An account to create. ``account_id`` keeps objects made earlier with that
    ``Luna-Account-Id`` reachable by the new login."""

    model_config = ConfigDict(extra="forbid")
    login: str = Field(min_length=1, max_length=128, pattern=r"^[^:\s]+$")
    password: str = Field(min_length=8, max_length=128)
    account_type: Literal["user", "admin"] = "user"
    description: str = Field("", max_length=128)
    account_id: Uuid | None = None


class TokenInput(BaseModel):
    """A token to issue: no expiration time means it lasts until revoked."""

    model_config = ConfigDict(extra="forbid")
    description: str = Field("", max_length=128)
    expiration_time: AwareDatetime | None = None

    @field_validator("expiration_time")
    @classmethod
    def _future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value <= utcnow():
            raise ValueError("must be in the future")
        return value


def _principal(request: Request) -> Principal:
    """Who sent the request; 401 when it carries no credentials (authentication off)."""
    principal = principal_of(request.scope)
    if principal is None:
        raise LunaError(AUTH_FAILED, "no credentials: use Basic or Bearer authorization")
    return principal


def _account_view(row: Account) -> dict[str, Any]:
    return {
        "account_id": row.account_id,
        "login": row.login,
        "account_type": row.account_type,
        "description": row.description,
        "create_time": timestamp(row.create_time),
        "last_update_time": timestamp(row.last_update_time),
    }


def _token_view(row: AccountToken) -> dict[str, Any]:
    return {
        "token_id": row.token_id,
        "account_id": row.account_id,
        "description": row.description,
        "create_time": timestamp(row.create_time),
        "expiration_time": timestamp(row.expiration_time) if row.expiration_time else None,
    }


@router.post(
    "/1/accounts",
    summary="create account",
    status_code=201,
    openapi_extra=json_body(AccountInput),
    responses={**ERRORS, 409: _error("The login or account id is taken")},
)
async def create_account(request: Request, services: ServicesDep) -> Response:
    """Create an account with a login and password. With authentication on, only an admin
    may; a request carrying credentials of a user account is refused in any case."""
    principal = principal_of(request.scope)
    if principal is not None and not principal.is_admin:
        raise LunaError(ADMIN_REQUIRED, "admin account", "creating accounts")
    body = await read_model(request, AccountInput)
    await request.app.state.authenticator.ensure_admin()
    encoded = await asyncio.to_thread(auth.hash_password, body.password)
    try:
        async with services.transaction() as session:
            row = await Accounts(session).create(
                body.login, encoded, body.account_type, body.description, body.account_id
            )
    except LoginTaken as exc:
        raise LunaError(ACCOUNT_EXISTS, exc.field, exc.value) from exc
    url = f"/1/accounts/{row.account_id}"
    response = respond(request, {"account_id": row.account_id, "url": url}, 201)
    response.headers["Location"] = url
    return response


@router.post(
    "/1/accounts/tokens",
    summary="create token",
    status_code=201,
    openapi_extra=json_body(TokenInput),
    responses=ERRORS,
)
async def create_token(request: Request, services: ServicesDep) -> Response:
    """Issue a bearer token of the authenticated account. The token is in this answer only;
    the service keeps its hash."""
    principal = _principal(request)
    if principal.via != "basic":
        raise LunaError(ADMIN_REQUIRED, "Basic authorization", "issuing tokens")
    body = await read_model(request, TokenInput)
    token = auth.new_token()
    async with services.transaction() as session:
        row = await Accounts(session).add_token(
            principal.account_id, auth.token_hash(token), body.description, body.expiration_time
        )
    url = f"/1/accounts/tokens/{row.token_id}"
    payload = {
        "token_id": row.token_id,
        "token": token,
        "expiration_time": _token_view(row)["expiration_time"],
        "url": url,
    }
    response = respond(request, payload, 201)
    response.headers["Location"] = url
    return response


@router.get("/1/accounts/tokens", summary="get tokens", responses=ERRORS)
async def list_tokens(
    request: Request, services: ServicesDep, page: Annotated[Page, Query()]
) -> Response:
    """One page of the authenticated account's tokens, newest first (never the tokens
    themselves), and how many it has."""
    principal = _principal(request)
    async with services.transaction() as session:
        accounts = Accounts(session)
        rows = await accounts.tokens(principal.account_id, page.offset, page.page_size)
        count = await accounts.count_tokens(principal.account_id)
    return respond(request, {"tokens": [_token_view(row) for row in rows], "count": count})


@router.get(
    "/1/accounts/tokens/{token_id}",
    summary="get token",
    responses={**ERRORS, 404: _error("No such token")},
)
async def get_token(request: Request, token_id: ObjectId, services: ServicesDep) -> Response:
    """One of the authenticated account's tokens (not the token itself)."""
    principal = _principal(request)
    async with services.transaction() as session:
        row = await Accounts(session).token(principal.account_id, token_id)
    if row is None:
        raise LunaError(TOKEN_NOT_FOUND, token_id)
    return respond(request, _token_view(row))


@router.delete(
    "/1/accounts/tokens/{token_id}",
    summary="remove token",
    status_code=204,
    responses={**ERRORS, 404: _error("No such token")},
)
async def remove_token(request: Request, token_id: ObjectId, services: ServicesDep) -> Response:
    """Revoke one of the authenticated account's tokens: it stops working at once on this
    replica, and within ``auth.credential_cache_s`` on others."""
    principal = _principal(request)
    async with services.transaction() as session:
        hashed = await Accounts(session).remove_token(principal.account_id, token_id)
    if hashed is None:
        raise LunaError(TOKEN_NOT_FOUND, token_id)
    request.app.state.authenticator.forget_token(hashed)
    return Response(status_code=204)


@router.get(
    "/1/accounts/{account_id}",
    summary="get account",
    responses={**ERRORS, 404: _error("No such account")},
)
async def get_account(request: Request, account_id: ObjectId, services: ServicesDep) -> Response:
    """The account (never its password): one's own, or any for an admin."""
    principal = _principal(request)
    if account_id != principal.account_id and not principal.is_admin:
        raise LunaError(ADMIN_REQUIRED, "admin account", "reading other accounts")
    async with services.transaction() as session:
        row = await Accounts(session).get(account_id)
    if row is None:
        raise LunaError(ACCOUNT_NOT_FOUND, account_id)
    return respond(request, _account_view(row))

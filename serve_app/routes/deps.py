"""Dependencies shared by routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query, Request
from pydantic import BaseModel, Field

from serve_app.errors import ACCOUNT_ID_REQUIRED, ACCOUNT_QUERY_DENIED, BAD_QUERY, LunaError
from serve_app.http import protocol
from serve_app.http.auth import principal_of
from serve_app.services import Services


def services(request: Request) -> Services:
    """The app's services."""
    return request.app.state.services


ACCOUNT_HEADER = Header(
    alias=protocol.ACCOUNT_ID_HEADER,
    description=(
        "Luna account Id. Designed to identify the created object. Required unless the "
        "request carries credentials (Authorization), whose account it must then equal."
    ),
    examples=["b668c4a5-2191-476e-a261-3b4f9ce2e25e"],
    json_schema_extra={"format": "uuid"},  # documents; an empty header means none
)


def _account_id(
    request: Request,
    # Declared so that the document shows it; protocol.account_id reads it with the
    # credentials it may stand beside.
    _header: Annotated[str | None, ACCOUNT_HEADER] = None,
) -> str:
    return protocol.account_id(request)


AccountId = Annotated[str, Depends(_account_id)]
ServicesDep = Annotated[Services, Depends(services)]
AccountQuery = Annotated[
    str | None,
    Query(description="Account ID; must equal Luna-Account-Id when both are given"),
]
ScopeHeader = Annotated[
    str | None,
    Header(
        alias=protocol.ACCOUNT_ID_HEADER,
        description="Luna account Id: the objects seen. Required for state changes.",
        examples=["b668c4a5-2191-476e-a261-3b4f9ce2e25e"],
        json_schema_extra={"format": "uuid"},
    ),
]


def _queried(account_id: str) -> str:
    value = account_id.strip().lower()
    if not protocol.UUID_PATTERN.match(value):
        raise LunaError(BAD_QUERY, "account_id: not a UUID")
    return value


def _account_scope(
    request: Request, account_id: AccountQuery = None, _header: ScopeHeader = None
) -> str:
    """The account a request sees: its credentials' or ``Luna-Account-Id``, else (reads
    only) the ``account_id`` query.

    Objects of other accounts are invisible: a query naming another account than the
    header is refused rather than answered. Every state change needs the header (or
    credentials), whichever dependency its route uses, as LUNA's 11036 says. With
    credentials, only an admin may read (GET, HEAD) another account's object by naming it.
    """
    own = protocol.optional_account_id(request)
    principal = principal_of(request.scope)
    if principal is not None and own is not None:  # own is the principal's account
        if account_id is None or _queried(account_id) == own:
            return own
        if principal.is_admin and request.method in ("GET", "HEAD"):
            return _queried(account_id)
        raise LunaError(ACCOUNT_QUERY_DENIED)
    if own is not None:
        if account_id is not None and account_id.lower() != own:
            raise LunaError(BAD_QUERY, "account_id: differs from the Luna-Account-Id header")
        return own
    if account_id is None or request.method in protocol.STATE_CHANGING:
        raise LunaError(ACCOUNT_ID_REQUIRED)
    return _queried(account_id)


AccountScope = Annotated[str, Depends(_account_scope)]


def _account_filter(
    request: Request, account_id: AccountQuery = None, _header: ScopeHeader = None
) -> str | None:
    """The account a list or count GET sees, or None for all accounts, as the document
    makes the account optional there.

    Without credentials: the ``Luna-Account-Id`` header, else the ``account_id`` query, else
    every account. With credentials: an admin sees every account unless the header or the
    query names one; any other account sees only its own (naming another is LUNA's 11063).
    """
    principal = principal_of(request.scope)
    if principal is None:
        if request.headers.get(protocol.ACCOUNT_ID_HEADER, "").strip():
            return _account_scope(request, account_id)
        return _queried(account_id) if account_id is not None else None
    own = protocol.account_id(request)  # refuses a header naming another account
    named_in_header = bool(request.headers.get(protocol.ACCOUNT_ID_HEADER, "").strip())
    if account_id is not None:
        return _account_scope(request, account_id)
    if principal.is_admin and not named_in_header:
        return None
    return own


AccountFilter = Annotated[str | None, Depends(_account_filter)]


class Page(BaseModel):
    """Pagination of list routes."""

    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(10, ge=1, le=1000)

    @property
    def offset(self) -> int:
        """Rows to skip."""
        return (self.page - 1) * self.page_size

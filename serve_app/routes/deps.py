"""Dependencies shared by routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query, Request
from pydantic import BaseModel, Field

from serve_app import protocol
from serve_app.errors import ACCOUNT_ID_REQUIRED, BAD_QUERY, LunaError
from serve_app.services import Services

ACCOUNT_ID_DOC = "Luna account Id. Designed to identify the created object."


def services(request: Request) -> Services:
    """The app's services."""
    return request.app.state.services


def _account_id(
    request: Request,
    luna_account_id: Annotated[
        str,
        Header(
            alias=protocol.ACCOUNT_ID_HEADER,
            description=ACCOUNT_ID_DOC,
            examples=["b668c4a5-2191-476e-a261-3b4f9ce2e25e"],
        ),
    ],
) -> str:
    return protocol.account_id(request)


AccountId = Annotated[str, Depends(_account_id)]
ServicesDep = Annotated[Services, Depends(services)]


def _account_scope(
    request: Request,
    account_id: Annotated[
        str | None,
        Query(description="Account ID; must equal Luna-Account-Id when both are given"),
    ] = None,
    # Declared so that the document shows it; read below with the query it may stand for.
    _header: Annotated[
        str | None,
        Header(
            alias=protocol.ACCOUNT_ID_HEADER,
            description="Luna account Id: the objects seen. Required for state changes.",
            examples=["b668c4a5-2191-476e-a261-3b4f9ce2e25e"],
            json_schema_extra={"format": "uuid"},  # documents; an empty header means none
        ),
    ] = None,
) -> str:
    """The account a request sees: ``Luna-Account-Id``, else (reads only) the ``account_id``
    query.

    Objects of other accounts are invisible: a query naming another account than the
    header is refused rather than answered. Every state change needs the header, whichever
    dependency its route uses, as LUNA's 11036 says.
    """
    header = request.headers.get(protocol.ACCOUNT_ID_HEADER)
    if header:
        own = protocol.account_id(request)
        if account_id is not None and account_id.lower() != own:
            raise LunaError(BAD_QUERY, "account_id: differs from the Luna-Account-Id header")
        return own
    if account_id is None or request.method in protocol.STATE_CHANGING:
        raise LunaError(ACCOUNT_ID_REQUIRED)
    if not protocol.UUID_PATTERN.match(account_id.lower()):
        raise LunaError(BAD_QUERY, "account_id: not a UUID")
    return account_id.lower()


AccountScope = Annotated[str, Depends(_account_scope)]


class Page(BaseModel):
    """Pagination of list routes."""

    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(10, ge=1, le=1000)

    @property
    def offset(self) -> int:
        """Rows to skip."""
        return (self.page - 1) * self.page_size

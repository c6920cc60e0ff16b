"""Dependencies shared by routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from serve_app import protocol
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

"""Dependencies shared by routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from serve_app import protocol
from serve_app.errors import ESTIMATOR_DISABLED, LunaError
from serve_app.face_analysis import AnalysisOptions
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


def require_estimators(
    services: Services, missing: list[tuple[str, str]], analysis: AnalysisOptions
) -> None:
    """Refuse, before reading the body, a request that needs an estimator not available."""
    for flag, name in missing:
        raise LunaError(
            ESTIMATOR_DISABLED, f"{flag} needs estimator '{name}', which is not available"
        )
    for name in analysis.estimators():
        if not services.estimators.available(name):
            raise LunaError(ESTIMATOR_DISABLED, f"estimator '{name}' is not configured")

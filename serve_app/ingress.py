"""The ingress deployment: the FastAPI app of serve_app.app, served by Ray Serve."""

from __future__ import annotations

from typing import Any

from ray import serve

from serve_app.app import create_app
from serve_app.estimators import Estimators
from serve_app.services import Services
from serve_app.settings import Settings


@serve.deployment(name="Ingress", max_ongoing_requests=256)
@serve.ingress()
class Ingress:
    """Routes HTTP requests; reaches the estimators through the handles it is bound to."""

    def __init__(
        self,
        settings: dict[str, Any],
        deployment: dict[str, Any],
        handles: dict[str, Any],
        matcher_shards: list[Any],
    ) -> None:
        parsed = Settings.from_args(settings)
        estimators = Estimators(parsed, handles)
        self.services = Services(parsed, estimators, deployment, matcher_shards)

    def __serve_build_asgi_app__(self) -> Any:
        return create_app(self.services)

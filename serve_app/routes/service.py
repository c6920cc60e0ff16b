"""Service routes: version, health, configuration and documentation."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import yaml
from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from serve_app.errors import HEALTH_CHECK, LunaError
from serve_app.http import openapi_docs
from serve_app.http.protocol import negotiate, respond
from serve_app.routes.deps import ServicesDep
from serve_app.version import version_body
from serve_app.views import schemas

router = APIRouter(tags=["service"])

DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"


@router.get("/version", summary="get version", responses={200: {"model": schemas.VersionResponse}})
async def get_version(request: Request) -> Response:
    """Version of the API this service speaks, and of the service itself."""
    return respond(request, version_body())


HEALTH_RESPONSES = {200: {"model": schemas.HealthResponse}, 502: {"model": schemas.Error}}


@router.get("/healthcheck", summary="get health", responses=HEALTH_RESPONSES)
@router.get("/1/healthcheck", summary="get health", responses=HEALTH_RESPONSES)
async def get_health(
    request: Request,
    services: ServicesDep,
    include_luna_services: Annotated[int, Query(ge=0, le=1)] = 0,
) -> Response:
    """Healthy when every configured estimator answers; else 502 naming those that do not."""
    start = time.perf_counter()
    report = await services.estimators.health()
    report["database"] = await _database_problem(services)
    failed = {name: problem for name, problem in report.items() if problem}
    if failed:
        detail = "; ".join(f"{name}: {problem}" for name, problem in failed.items())
        raise LunaError(HEALTH_CHECK, detail)
    return respond(request, {"execution_time": round(time.perf_counter() - start, 6)})


@router.get("/1/config", summary="get service configuration")
async def get_config(request: Request, services: ServicesDep) -> Response:
    """The running configuration with secrets hidden, as JSON or (Accept: text/plain) YAML."""
    body = {"settings": services.settings.public_view(), "deployment": services.deployment}
    offered = ("application/json", "application/msgpack", "text/plain")
    if negotiate(request.headers.get("accept"), offered) == "text/plain":
        return Response(yaml.safe_dump(body, sort_keys=False), media_type="text/plain")
    return respond(request, body)


@router.get("/1/docs/spec", summary="get openapi documentation")
async def get_spec(request: Request) -> Response:
    """This API's OpenAPI document: YAML by default, HTML for ``Accept: text/html``."""
    chosen = negotiate(request.headers.get("accept"), ("application/x-yaml", "text/html"))
    spec = openapi_docs.build_spec(request.app)
    if chosen == "text/html":
        return HTMLResponse(openapi_docs.spec_html(spec))
    return Response(openapi_docs.spec_yaml(spec), media_type="application/x-yaml")


@router.get(
    "/1/docs/dev",
    summary="get development manual",
    response_class=RedirectResponse,
    status_code=302,
    responses={302: {"description": "the manual's page"}},
)
async def get_dev_manual() -> Response:
    """Redirect to the development manual."""
    return RedirectResponse("/1/docs/dev/index.html", status_code=302)


@router.get("/1/docs/dev/index.html", include_in_schema=False)
async def get_dev_manual_page() -> Response:
    """The project's documents as one plain HTML page."""
    return HTMLResponse(_manual_html())


async def _database_problem(services) -> str | None:
    try:
        storage = await services.storage.ready()
        await storage.database.ping()
    except Exception as exc:  # any failure to reach or migrate the database is unhealthy
        return f"{type(exc).__name__}: {exc}"
    return None


def _manual_html() -> str:
    import html

    pages = [DOCS_DIR.parent / "README.md", *sorted(DOCS_DIR.glob("*.md"))]
    body = []
    for page in pages:
        if page.is_file():
            body.append(
                f"<h1>{html.escape(page.name)}</h1><pre>{html.escape(page.read_text())}</pre>"
            )
    if not body:
        body.append("<p>The development manual is not installed with this copy of the service.</p>")
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Development manual</title>"
        "</head><body>" + "".join(body) + "</body></html>"
    )

"""The FastAPI application: LUNA protocol, routes, and the services they use. No Ray here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from serve_app.http import protocol
from serve_app.routes import (
    accounts,
    attributes,
    console,
    detector,
    events,
    extractor,
    faces,
    handler_events,
    handlers,
    images,
    iso,
    lists,
    matcher,
    metrics,
    samples,
    sdk,
    service,
    verifications,
    verifiers,
)
from serve_app.services import Services
from serve_app.version import COMPATIBLE_HANDLERS

ROUTERS = (
    service.router,
    detector.router,
    extractor.router,
    sdk.router,
    iso.router,
    handlers.router,
    handler_events.router,
    verifiers.router,
    verifications.router,
    matcher.router,
    samples.router,
    images.router,
    attributes.router,
    faces.router,
    lists.router,
    events.router,
    accounts.router,
    metrics.router,
)


def create_app(services: Services) -> FastAPI:
    """An ASGI app serving the LUNA Handlers routes with ``services``."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        # Write buffered events (wait_saving=0), stop the expiry task and close pooled
        # connections when the replica stops.
        await services.event_writer.close()
        await services.fanout.close()  # after the writer: its last events still go out
        await services.storage.close()

    app = FastAPI(
        lifespan=lifespan,
        title="Luna-Handlers",
        version=".".join(map(str, COMPATIBLE_HANDLERS)),
        # The document is served at LUNA's /1/docs/spec, not FastAPI's defaults.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    protocol.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(console.router)  # the web console (docs/console.md), not LUNA's API
    return app

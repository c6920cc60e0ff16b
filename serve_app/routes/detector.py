"""``POST /1/detector``: detect faces in images, with optional estimations."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from serve_app.http.inputs import read_images
from serve_app.http.openapi_docs import IMAGE_BODY, response_doc
from serve_app.http.protocol import respond
from serve_app.http.queries import DetectorQuery
from serve_app.pipeline import analyse
from serve_app.pipeline.plan import FACE_WARP
from serve_app.pipeline.store import store_samples
from serve_app.routes.deps import AccountId, ServicesDep
from serve_app.storage.samples import fill_from_samples
from serve_app.views.presenters import detector_image

router = APIRouter(tags=["samples"])


@router.post(
    "/1/detector",
    summary="detect faces",
    description="Detect faces in input images.",
    openapi_extra=IMAGE_BODY,
    responses=response_doc("DetectorResponse"),
)
async def detect_faces(
    request: Request,
    query: Annotated[DetectorQuery, Query()],
    account_id: AccountId,
    services: ServicesDep,
) -> Response:
    """Detect faces; each image gets its detections or its own error. Every detected face is
    stored as a sample (its 250x250 warp) that /1/extractor can later use."""
    plan = query.plan()
    plan.check(services.estimators.available)
    settings = services.settings
    inputs = await read_images(request, settings.limits, settings.image_urls)
    storage = await services.storage.ready()
    if all(item.sample_id for item in inputs):  # stored samples, by id: face warps
        await fill_from_samples(storage, account_id, inputs)
        plan = replace(plan, image_type=FACE_WARP)
        plan.check(services.estimators.available)
    results = await analyse(services.estimators, settings.limits.image_limits(), inputs, plan)
    await store_samples(storage, account_id, results)
    return respond(request, {"images": [detector_image(result) for result in results]})

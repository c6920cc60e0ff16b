"""``POST /1/detector``: detect faces in images, with optional estimations."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from serve_app.detection import DetectOptions
from serve_app.inputs import read_images
from serve_app.openapi_docs import IMAGE_BODY, response_doc
from serve_app.presenters import detector_image
from serve_app.protocol import respond
from serve_app.queries import DetectorQuery
from serve_app.routes.deps import AccountId, ServicesDep, require_estimators
from serve_app.samples import store_face_samples

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
    analysis = replace(query.analysis(), warp=True)
    require_estimators(services, query.missing_estimators(), analysis)
    settings = services.settings
    inputs = await read_images(request, settings.limits, settings.image_urls)
    options = DetectOptions(
        multiface_policy=query.multiface_policy,
        warped=bool(query.warped_image),
        use_exif=bool(query.use_exif_info),
        extract_exif=bool(query.extract_exif),
    )
    results = await services.face_detection.run(inputs, options)
    await services.face_analysis.run(results, analysis)
    storage = await services.storage.ready()
    await store_face_samples(storage, account_id, [f for r in results for f in r.faces])
    return respond(request, {"images": [detector_image(result) for result in results]})

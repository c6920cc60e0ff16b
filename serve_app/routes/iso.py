"""``POST /1/iso``: ISO/IEC 19794-5 checks of the faces in images."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from serve_app.http.inputs import read_images
from serve_app.http.openapi_docs import IMAGE_BODY, response_doc
from serve_app.http.protocol import respond
from serve_app.http.queries import IsoQuery
from serve_app.pipeline import analyse
from serve_app.routes.deps import ServicesDep
from serve_app.views.presenters import iso_image

router = APIRouter(tags=["iso"])


@router.post(
    "/1/iso",
    summary="iso resource",
    description=(
        "Check each face against ISO/IEC 19794-5 (Full Frontal): head pose, eye distance, "
        "face position and size, image quality, background and, where this deployment has "
        "their estimators, eyes, mouth, glasses, mask and gaze. Each check answers its value, "
        "its range and 1 or 0; ``status`` is 1 when every check made passed, and "
        "``unavailable`` names the checks without an estimator here."
    ),
    openapi_extra=IMAGE_BODY,
    responses=response_doc("IsoResponse"),
)
async def iso(
    request: Request, query: Annotated[IsoQuery, Query()], services: ServicesDep
) -> Response:
    """ISO checks for every face of every image; each image fails alone."""
    plan = query.plan()
    plan.check(services.estimators.available)
    settings = services.settings
    inputs = await read_images(request, settings.limits, settings.image_urls)
    results = await analyse(services.estimators, settings.limits.image_limits(), inputs, plan)
    return respond(request, {"images": [iso_image(r) for r in results]})

"""``POST /1/sdk``: detect faces and estimate their attributes; with ``Luna-Account-Id``
the face warps are also stored as samples of that account."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from serve_app.errors import ACCOUNT_ID_REQUIRED, LunaError
from serve_app.http.inputs import read_images
from serve_app.http.openapi_docs import IMAGE_BODY, response_doc
from serve_app.http.protocol import optional_account_id, respond
from serve_app.http.queries import SdkQuery
from serve_app.pipeline import analyse
from serve_app.pipeline.plan import FACE_WARP
from serve_app.pipeline.store import store_samples
from serve_app.routes.deps import ServicesDep
from serve_app.storage.samples import fill_from_samples
from serve_app.views.presenters import aggregate_estimations, sdk_image

router = APIRouter(tags=["sdk"])


@router.post(
    "/1/sdk",
    summary="sdk resource",
    description=(
        "Detect faces and estimate attributes on input images; only the estimations that "
        "apply to each image are made (e.g. no landmarks on face warps)."
    ),
    openapi_extra=IMAGE_BODY,
    responses=response_doc("SdkResponse"),
)
async def sdk(
    request: Request, query: Annotated[SdkQuery, Query()], services: ServicesDep
) -> Response:
    """Estimations for every face of every image; each image fails alone. With a
    ``Luna-Account-Id`` the face warps are also stored as samples of that account."""
    account = optional_account_id(request)
    plan = query.plan(account is not None, services.estimators.available)
    plan.check(services.estimators.available)
    settings = services.settings
    inputs = await read_images(request, settings.limits, settings.image_urls)
    if all(item.sample_id for item in inputs):  # stored samples, by id: face warps
        if account is None:
            raise LunaError(ACCOUNT_ID_REQUIRED)
        await fill_from_samples(await services.storage.ready(), account, inputs)
        plan = replace(plan, image_type=FACE_WARP)
    results = await analyse(services.estimators, settings.limits.image_limits(), inputs, plan)
    if account is not None:
        await store_samples(await services.storage.ready(), account, results)
    landmarks5 = bool(query.estimate_landmarks5)
    with_warp = bool(query.estimate_face_warp)
    body_warps = bool(query.estimate_body_warp)
    body: dict[str, Any] = {
        "images_estimations": [sdk_image(r, landmarks5, with_warp, body_warps) for r in results]
    }
    if query.aggregate_attributes:
        body["aggregate_estimations"] = aggregate_estimations(
            [f for r in results for f in r.live_faces]
        )
    return respond(request, body)

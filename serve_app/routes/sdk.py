"""``POST /1/sdk``: detect faces and estimate their attributes; with ``Luna-Account-Id``
the face warps are also stored as samples of that account."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from serve_app import aggregation
from serve_app.detection import DetectOptions
from serve_app.inputs import read_images
from serve_app.openapi_docs import IMAGE_BODY, response_doc
from serve_app.presenters import aggregate, sdk_image
from serve_app.protocol import ACCOUNT_ID_HEADER, account_id, respond
from serve_app.queries import SdkQuery
from serve_app.routes.deps import ServicesDep, require_estimators
from serve_app.samples import store_face_samples

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
    account = account_id(request) if request.headers.get(ACCOUNT_ID_HEADER) else None
    analysis = query.analysis()
    require_estimators(services, query.missing_estimators(), analysis)
    settings = services.settings
    inputs = await read_images(request, settings.limits, settings.image_urls)
    options = DetectOptions(
        multiface_policy=query.multiface_policy,
        warped=query.image_type == 1,
        detect=bool(query.detect_face),
        use_exif=bool(query.use_exif_info),
        extract_exif=bool(query.extract_exif),
    )
    results = await services.face_detection.run(inputs, options)
    if query.aggregate_attributes and query.multiface_policy != 2:
        aggregation.single_faces(results)
    if account is not None:  # samples are warps
        analysis = replace(analysis, warp=True)
    await services.face_analysis.run(results, analysis)
    if account is not None:
        storage = await services.storage.ready()
        await store_face_samples(storage, account, [f for r in results for f in r.faces])
    landmarks5 = bool(query.estimate_landmarks5)
    with_warp = bool(query.estimate_face_warp)
    body: dict[str, Any] = {
        "images_estimations": [sdk_image(r, landmarks5, with_warp) for r in results]
    }
    if query.aggregate_attributes:
        faces = [f for r in results if r.error is None for f in r.faces]
        body["aggregate_estimations"] = aggregate(
            aggregation.aggregate_descriptors([f.descriptor for f in faces if f.descriptor]),
            aggregation.aggregate_basic_attributes(
                [f.basic_attributes for f in faces if f.basic_attributes]
            ),
        )
    return respond(request, body)

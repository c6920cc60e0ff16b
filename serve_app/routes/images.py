"""Source images that handlers keep (``storage_policy.image_origin_policy``): an event's
``detections[].image_origin`` names one."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from serve_app.errors import IMAGE_NOT_FOUND, LunaError
from serve_app.http.images import sniff_mimetype
from serve_app.pipeline.store import IMAGES
from serve_app.routes.deps import AccountScope, ServicesDep
from serve_app.routes.stored import ObjectId

router = APIRouter(tags=["images"])


@router.get("/1/images/{image_id}", summary="get source image")
async def get_image(
    image_id: ObjectId, account_id: AccountScope, services: ServicesDep
) -> Response:
    """The source image as it was sent (its own format)."""
    storage = await services.storage.ready()
    data = await storage.blobs.get(IMAGES, account_id, image_id)
    if data is None:
        raise LunaError(IMAGE_NOT_FOUND, image_id)
    return Response(data, media_type=sniff_mimetype(data) or "application/octet-stream")

"""Samples: the 250x250 face warps and 128x256 body warps that ``/1/detector``, ``/1/sdk``
and handlers store (LUNA keeps them in its Image Store)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from serve_app.routes.deps import AccountScope, ServicesDep
from serve_app.routes.stored import ObjectId
from serve_app.storage import samples

router = APIRouter(tags=["faces"])


@router.get("/1/samples/faces/{sample_id}", summary="get face sample")
async def get_face_sample(
    sample_id: ObjectId, account_id: AccountScope, services: ServicesDep
) -> Response:
    """The sample's 250x250 face warp, JPEG."""
    storage = await services.storage.ready()
    image = await samples.read_sample(storage, account_id, sample_id)
    return Response(image, media_type="image/jpeg")


@router.delete("/1/samples/faces/{sample_id}", summary="remove face sample", status_code=204)
async def remove_face_sample(
    sample_id: ObjectId, account_id: AccountScope, services: ServicesDep
) -> Response:
    """Remove the sample and its image. Samples stay until removed (as in LUNA's store)."""
    await samples.remove_sample(await services.storage.ready(), account_id, sample_id)
    return Response(status_code=204)


@router.get("/1/samples/bodies/{sample_id}", summary="get body sample")
async def get_body_sample(
    sample_id: ObjectId, account_id: AccountScope, services: ServicesDep
) -> Response:
    """The sample's 128x256 body warp, JPEG."""
    storage = await services.storage.ready()
    image = await samples.read_sample(storage, account_id, sample_id, samples.BODY)
    return Response(image, media_type="image/jpeg")


@router.delete("/1/samples/bodies/{sample_id}", summary="remove body sample", status_code=204)
async def remove_body_sample(
    sample_id: ObjectId, account_id: AccountScope, services: ServicesDep
) -> Response:
    """Remove the body sample and its image."""
    await samples.remove_sample(await services.storage.ready(), account_id, sample_id, samples.BODY)
    return Response(status_code=204)

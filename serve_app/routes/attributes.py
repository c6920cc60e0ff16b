"""Temporary attributes (made by ``/1/extractor``): read and removed until their ttl ends."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from serve_app.errors import ATTRIBUTE_NOT_FOUND
from serve_app.http.protocol import respond
from serve_app.routes.deps import AccountScope, ServicesDep
from serve_app.routes.stored import ObjectId, Stored
from serve_app.storage.attributes import AttributeStore
from serve_app.views import objects as views

router = APIRouter(tags=["faces"])
ATTRIBUTES = Stored(AttributeStore, ATTRIBUTE_NOT_FOUND)


@router.get("/1/attributes/{attribute_id}", summary="get temporary attribute")
async def get_attribute(
    request: Request, attribute_id: ObjectId, account_id: AccountScope, services: ServicesDep
) -> Response:
    """The attribute until its ttl runs out, with its descriptor as an SDK descriptor."""
    row = await ATTRIBUTES.get(services, account_id, attribute_id)
    return respond(request, views.attribute(row))


@router.delete(
    "/1/attributes/{attribute_id}", summary="remove temporary attribute", status_code=204
)
async def remove_attribute(
    attribute_id: ObjectId, account_id: AccountScope, services: ServicesDep
) -> Response:
    """Remove the attribute before its ttl."""
    return await ATTRIBUTES.remove(services, account_id, attribute_id)

"""``POST /1/handlers/{handler_id}/events`` (run a handler) and ``.../events/raw`` (save a
client-built event for a dynamic handler)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import Response

from models.face.arcface import Descriptor
from serve_app.errors import (
    BAD_CONTENT_TYPE,
    BAD_JSON,
    DYNAMIC_HANDLER_ONLY,
    HANDLER_NOT_FOUND,
    REQUIRED_PARAMS,
    LunaError,
)
from serve_app.http.inputs import (
    DESCRIPTOR_TYPES,
    ImageInput,
    media_type,
    read_descriptor,
    read_images_and_policies,
    validation_error,
)
from serve_app.http.json_body import read_json
from serve_app.http.openapi_docs import IMAGE_BODY, json_body
from serve_app.http.protocol import respond
from serve_app.http.queries import EventsQuery
from serve_app.pipeline.events import EventMeta
from serve_app.pipeline.handler import run_handler
from serve_app.pipeline.plan import FACE_WARP, check_policies
from serve_app.policies import Policies
from serve_app.routes.deps import AccountId, ServicesDep
from serve_app.routes.handlers import check_references
from serve_app.routes.stored import ObjectId
from serve_app.services import Services
from serve_app.storage.events import NewEvent
from serve_app.storage.handlers import HandlerStore
from serve_app.storage.lists import ListStore
from serve_app.storage.samples import fill_from_samples
from serve_app.storage.tables import Handler
from serve_app.views.events import event as render_event
from serve_app.views.events import event_url, generate_response

router = APIRouter(tags=["events"])
EVENT_TIME, EVENT_END_TIME = "Luna-Event-Time", "Luna-Event-End-Time"


@router.post(
    "/1/handlers/{handler_id}/events",
    summary="generate events",
    status_code=201,
    openapi_extra=IMAGE_BODY,
)
async def generate_events(
    request: Request,
    handler_id: ObjectId,
    query: Annotated[EventsQuery, Query()],
    account_id: AccountId,
    services: ServicesDep,
) -> Response:
    """Run the handler's policies on the images (or SDK descriptors) of the request: one
    event per face (one for all with ``aggregate_attributes=1``), each image failing alone."""
    handler = await _handler(services, account_id, handler_id)
    settings = services.settings
    media = media_type(request)
    descriptors: list[Descriptor] = []
    inputs: list[ImageInput] = []
    sent: object | None = None
    if media in DESCRIPTOR_TYPES:
        version = services.estimators.descriptor_version()
        descriptors = [await read_descriptor(request, settings.limits, version)]
    else:
        inputs, sent = await read_images_and_policies(request, settings.limits, settings.image_urls)
    policies = await _policies(services, account_id, handler, sent)
    image_type = query.image_type
    if inputs and all(item.sample_id for item in inputs):  # stored samples: face warps
        await fill_from_samples(await services.storage.ready(), account_id, inputs)
        image_type = FACE_WARP
    run = await run_handler(
        services,
        policies,
        _meta(request, query, handler_id, account_id),
        render_event,
        inputs=inputs,
        descriptors=descriptors,
        image_type=image_type,
        use_exif=bool(query.use_exif_info),
        aggregate=bool(query.aggregate_attributes),
    )
    return respond(request, generate_response(run.events, run.results), 201)


async def _policies(
    services: Services, account_id: str, handler: Handler, sent: object | None
) -> Policies:
    """The stored policies, or for a dynamic handler those sent with the request, checked as
    a handler's are when it is created."""
    if not handler.is_dynamic:
        if sent is not None:
            raise LunaError(BAD_JSON, "policies", "only dynamic handlers take policies")
        policies = Policies.model_validate(handler.policies or {})
    else:
        if sent is None:
            raise LunaError(REQUIRED_PARAMS, "policies (a dynamic handler takes them each time)")
        try:
            policies = Policies.model_validate(sent)
        except ValidationError as exc:
            raise validation_error(exc, "policies") from exc
        async with services.transaction() as session:
            await check_references(ListStore(session, account_id), policies)
    check_policies(policies, services.estimators.available)
    return policies


def _meta(request: Request, query: EventsQuery, handler_id: str, account_id: str) -> EventMeta:
    now = datetime.now(UTC)
    create_time = _header_time(request, EVENT_TIME) or now
    return EventMeta(
        handler_id=handler_id,
        account_id=account_id,
        create_time=create_time,
        end_time=_header_time(request, EVENT_END_TIME) or create_time,
        source=query.source,
        external_id=query.external_id,
        user_data=query.user_data,
        track_id=query.track_id,
        tags=query.tag_list(),
        location=query.location(),
    )


def _header_time(request: Request, name: str) -> datetime | None:
    """An RFC 3339 time header; as the document says, any other format is ignored."""
    value = request.headers.get(name)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else None


async def _handler(services: Services, account_id: str, handler_id: str) -> Handler:
    async with services.transaction() as session:
        handler = await HandlerStore(session, account_id).get(handler_id)
    if handler is None:
        raise LunaError(HANDLER_NOT_FOUND, handler_id)
    return handler


class RawEvent(BaseModel):
    """A client-built event (``POST /1/handlers/{id}/events/raw``), as the document lists it.
    Nested objects are kept as the client sent them."""

    model_config = ConfigDict(extra="forbid")
    source: str | None = Field(None, max_length=128)
    location: dict[str, Any] | None = None
    external_id: str = Field("", max_length=36)
    user_data: str = Field("", max_length=128)
    track_id: str | None = Field(None, pattern=r"^[a-zA-Z0-9_\-]{1,36}$")
    meta: dict[str, Any] | None = None
    face: dict[str, Any] | None = None
    matches: Annotated[list[dict[str, Any]], Field(max_length=30)] = Field(default_factory=list)
    face_attributes: dict[str, Any] | None = None
    body_attributes: dict[str, Any] | None = None
    aggregate_estimations: dict[str, Any] | None = None
    detections: Annotated[list[dict[str, Any]], Field(max_length=100)] = Field(default_factory=list)
    tags: Annotated[list[Annotated[str, Field(max_length=36)]], Field(max_length=100)] = Field(
        default_factory=list
    )
    create_time: datetime | None = None
    end_time: datetime | None = None


class RawEventQuery(BaseModel):
    """``POST /1/handlers/{id}/events/raw`` query."""

    no_cache: int = Field(0, ge=0, le=1)
    wait_saving: int = Field(1, ge=0, le=1)


@router.post(
    "/1/handlers/{handler_id}/events/raw",
    summary="save event",
    status_code=201,
    openapi_extra=json_body(RawEvent),
    responses={202: {"description": "accepted; saved after the answer (wait_saving=0)"}},
)
async def save_event(
    request: Request,
    handler_id: ObjectId,
    query: Annotated[RawEventQuery, Query()],
    account_id: AccountId,
    services: ServicesDep,
) -> Response:
    """Store a client-built event for a dynamic handler: 201 once it is in the database
    (``wait_saving=1``), or 202 once it is validated and buffered (``wait_saving=0``)."""
    handler = await _handler(services, account_id, handler_id)
    if not handler.is_dynamic:
        raise LunaError(DYNAMIC_HANDLER_ONLY)
    if media_type(request) != "application/json":
        raise LunaError(BAD_CONTENT_TYPE)
    try:
        raw = RawEvent.model_validate(await read_json(request))
    except ValidationError as exc:
        raise validation_error(exc) from exc
    now = datetime.now(UTC)
    create_time = _aware(raw.create_time) or now
    end_time = _aware(raw.end_time) or create_time
    event_id = str(uuid.uuid4())
    body = {
        **raw.model_dump(mode="json", exclude={"create_time", "end_time"}),
        "event_id": event_id,
        "url": event_url(event_id),
        "handler_id": handler_id,
        "account_id": account_id,
        "create_time": create_time.isoformat().replace("+00:00", "Z"),
        "end_time": end_time.isoformat().replace("+00:00", "Z"),
    }
    if isinstance(body.get("face"), dict):
        body["face"] = {**body["face"], "event_id": event_id}
    event = NewEvent.from_body(
        account_id, body, create_time, end_time, handler_id=handler_id, notify=True
    )
    await services.event_writer.save([event], wait=bool(query.wait_saving))
    status = 201 if query.wait_saving else 202
    response = respond(request, {"event_id": event_id, "url": event_url(event_id)}, status)
    response.headers["Location"] = event_url(event_id)
    return response


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)

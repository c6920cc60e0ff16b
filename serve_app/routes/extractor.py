"""``POST /1/extractor`` (attributes from samples) and ``POST /1/extractor/upgrade``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from serve_app.errors import BAD_QUERY, LunaError
from serve_app.face_records import UpgradeInput, upgrade_face
from serve_app.http.json_body import read_json, validate
from serve_app.http.openapi_docs import json_body
from serve_app.http.protocol import respond
from serve_app.pipeline.extraction import (
    EventUpgradeInput,
    aggregate,
    extract_from_samples,
    keep_scores,
    upgrade_event,
)
from serve_app.pipeline.store import store_attributes
from serve_app.policies import Uuid
from serve_app.routes.deps import AccountId, ServicesDep
from serve_app.routes.faces import face_view
from serve_app.views import objects as views

router = APIRouter(tags=["attributes"])
MAX_SAMPLES = 1000
SampleIds = Annotated[list[Uuid], Field(min_length=1, max_length=MAX_SAMPLES)]


class ExtractorQuery(BaseModel):
    """``POST /1/extractor`` query."""

    score_threshold: float = Field(0.0, ge=0.0, le=1.0)
    extract_descriptor: int = Field(1, ge=0, le=1)
    extract_basic_attributes: int = Field(0, ge=0, le=1)
    aggregate_attributes: int = Field(0, ge=0, le=1)
    ttl: int = Field(300, ge=1, le=86400)


@router.post(
    "/1/extractor",
    summary="extract attributes",
    status_code=201,
    openapi_extra=json_body(SampleIds, "A JSON array of sample ids.", name="SampleIds"),
)
async def extract(
    request: Request,
    query: Annotated[ExtractorQuery, Query()],
    account_id: AccountId,
    services: ServicesDep,
) -> Response:
    """Temporary attributes (descriptor, age, gender) from the account's samples: one per
    sample, or one for all with ``aggregate_attributes=1``. Samples whose descriptor scores
    below ``score_threshold`` are left out; the attributes vanish after ``ttl`` seconds."""
    if not (query.extract_descriptor or query.extract_basic_attributes):
        raise LunaError(
            BAD_QUERY, "extract_descriptor, extract_basic_attributes: nothing to extract"
        )
    sample_ids = validate(await read_json(request), SampleIds)
    storage = await services.storage.ready()
    extracted = await extract_from_samples(
        services.estimators,
        storage,
        account_id,
        list(dict.fromkeys(sample_ids)),
        descriptor=bool(query.extract_descriptor),
        basic_attributes=bool(query.extract_basic_attributes),
    )
    extracted = keep_scores(extracted, query.score_threshold)
    if query.aggregate_attributes and extracted:
        extracted = [aggregate(extracted)]
    rows = await store_attributes(storage, account_id, extracted, query.ttl)
    return respond(request, [views.extracted(row) for row in rows], 201)


UpgradeBody = UpgradeInput | EventUpgradeInput


@router.post(
    "/1/extractor/upgrade",
    summary="upgrade attribute",
    openapi_extra=json_body(UpgradeBody, "A face or an event to upgrade.", name="UpgradeBody"),
)
async def upgrade(request: Request, account_id: AccountId, services: ServicesDep) -> Response:
    """Append the configured model's descriptor to a face and/or replace its age and gender,
    from samples (``upgrade_data.samples``, default: the face's own); or give a stored
    event the current descriptor, from its face samples."""
    raw = await read_json(request)
    storage = await services.storage.ready()
    if isinstance(raw, dict) and "event_id" in raw:
        event = validate(raw, EventUpgradeInput)
        merged = await upgrade_event(services.estimators, storage, account_id, event)
        attributes = {"samples": merged.samples, "score": round(merged.descriptor.score, 6)}
        return respond(request, {"event_id": event.event_id, "face_attributes": attributes})
    body = validate(raw, UpgradeInput)
    face = await upgrade_face(services.estimators, storage, account_id, body)
    await services.faces_changed(account_id, [face.face_id])
    async with services.transaction() as session:
        shown = await face_view(session, account_id, face.face_id)
    return respond(request, {"face_id": face.face_id, "face_attributes": shown["attributes"]})

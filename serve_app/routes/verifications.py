"""``POST /1/verifiers/{verifier_id}/verifications`` (images or a descriptor against stored
faces, attributes, events and external ids) and ``POST /1/verifiers/{verifier_id}/raw``
(descriptors against descriptors)."""

from __future__ import annotations

from typing import Annotated

import msgpack
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from serve_app.errors import (
    BAD_CONTENT_TYPE,
    BAD_INPUT_GENERIC,
    BAD_QUERY,
    NO_DATA,
    REQUIRED_PARAMS,
    LunaError,
)
from serve_app.estimators import FACE_DESCRIPTOR
from serve_app.http.inputs import (
    DESCRIPTOR_TYPES,
    media_type,
    parse_json,
    read_body,
    read_descriptor,
    read_images,
)
from serve_app.http.json_body import JSON_LIMIT, validate
from serve_app.http.openapi_docs import IMAGE_BODY, json_body
from serve_app.http.protocol import JSON, MSGPACK, UUID_PATTERN, respond
from serve_app.pipeline.verify import (
    MAX_RAW_DESCRIPTORS,
    DescriptorEntity,
    ReferenceIds,
    decode_entities,
    load_references,
    similarities,
    verify,
)
from serve_app.policies import VerifierPolicies
from serve_app.routes.deps import AccountScope, ServicesDep
from serve_app.routes.verifiers import VERIFIERS, VerifierId
from serve_app.services import Services
from serve_app.views.verifications import raw_matches, verifications_response

router = APIRouter(tags=["verifiers"])


class VerificationQuery(BaseModel):
    """``POST /1/verifiers/{id}/verifications`` query: the references, comma-separated."""

    face_ids: str | None = Field(None, description="comma-separated face ids")
    attribute_ids: str | None = Field(None, description="comma-separated attribute ids")
    event_ids: str | None = Field(None, description="comma-separated event ids")
    external_ids: str | None = Field(
        None, description="comma-separated external ids: the account's faces with each"
    )
    use_exif_info: int = Field(1, ge=0, le=1)
    image_type: int = Field(0, ge=0, le=1, description="0 raw image, 1 face warp")

    def references(self) -> ReferenceIds:
        """The ids named, each list in the client's order; every id checked."""
        return ReferenceIds(
            face_ids=_uuids(self.face_ids, "face_ids"),
            attribute_ids=_uuids(self.attribute_ids, "attribute_ids"),
            event_ids=_uuids(self.event_ids, "event_ids"),
            external_ids=_split(self.external_ids, "external_ids", 36),
        )


def _split(value: str | None, name: str, max_length: int) -> tuple[str, ...]:
    if value is None:
        return ()
    items = tuple(item.strip() for item in value.split(","))
    if any(not item or len(item) > max_length for item in items):
        raise LunaError(BAD_QUERY, f"{name}: comma-separated, each 1 to {max_length} characters")
    return items


def _uuids(value: str | None, name: str) -> tuple[str, ...]:
    items = tuple(item.lower() for item in _split(value, name, 36))
    if bad := [item for item in items if not UUID_PATTERN.match(item)]:
        raise LunaError(BAD_QUERY, f"{name}: '{bad[0]}' is not a UUID")
    return items


@router.post(
    "/1/verifiers/{verifier_id}/verifications",
    summary="perform verification",
    openapi_extra=IMAGE_BODY,
)
async def perform_verification(
    request: Request,
    verifier_id: VerifierId,
    query: Annotated[VerificationQuery, Query()],
    account_id: AccountScope,
    services: ServicesDep,
) -> Response:
    """Verify the faces of the images (or the SDK descriptor sent instead) against the
    references: each face's ``verifications`` follow the order of the ids in the query
    (face_ids, attribute_ids, event_ids, then the faces of external_ids); each image fails
    alone."""
    verifier = await VERIFIERS.get(services, account_id, verifier_id)
    policies = VerifierPolicies.model_validate(verifier.policies or {})
    ids = query.references()
    if not ids:
        raise LunaError(REQUIRED_PARAMS, "face_ids, attribute_ids, event_ids or external_ids")
    services.estimators.require(FACE_DESCRIPTOR)
    version = services.estimators.descriptor_version()
    storage = await services.storage.ready()
    settings = services.settings
    media = media_type(request)
    if media in DESCRIPTOR_TYPES:
        descriptor = await read_descriptor(request, settings.limits, version)
        references = await load_references(storage, account_id, version, ids)
        images = await verify(
            services.estimators,
            storage,
            settings.limits.image_limits(),
            account_id,
            policies,
            references,
            descriptors=[descriptor],
        )
    else:
        # References first: an unknown id fails the request before any image is analysed.
        references = await load_references(storage, account_id, version, ids)
        inputs = await read_images(request, settings.limits, settings.image_urls)
        images = await verify(
            services.estimators,
            storage,
            settings.limits.image_limits(),
            account_id,
            policies,
            references,
            inputs=inputs,
            image_type=query.image_type,
            use_exif=bool(query.use_exif_info),
        )
    return respond(request, verifications_response(images))


DescriptorList = Annotated[
    list[DescriptorEntity], Field(min_length=1, max_length=MAX_RAW_DESCRIPTORS)
]


class RawBody(BaseModel):
    """References and candidates, each a non-empty list of descriptors (the API document's
    ``sdk_descriptor_entity_base64`` / ``raw_descriptor_entity_base64``)."""

    model_config = ConfigDict(extra="forbid")
    references: DescriptorList
    candidates: DescriptorList


async def read_raw_body(request: Request, services: Services) -> RawBody:
    """The body of a raw route, JSON or msgpack (where ``data`` may be binary)."""
    media = media_type(request)
    if media not in (JSON, MSGPACK):
        raise LunaError(BAD_CONTENT_TYPE)
    body = await read_body(request, JSON_LIMIT)
    if not body:
        raise LunaError(NO_DATA)
    if media == JSON:
        data = parse_json(body)
    else:
        try:
            data = msgpack.unpackb(body, raw=False)
        except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
            raise LunaError(BAD_INPUT_GENERIC, "the msgpack body cannot be decoded") from exc
    return validate(data, RawBody)


def raw_similarities(services: Services, body: RawBody):
    """Similarity of every reference (rows) with every candidate (columns)."""
    services.estimators.require(FACE_DESCRIPTOR)
    model = services.estimators.descriptor_model
    version, dims = model.descriptor_version, model.descriptor_size
    references = decode_entities(body.references, version, dims, "references")
    candidates = decode_entities(body.candidates, version, dims, "candidates")
    return similarities(services.estimators, references, candidates)


@router.post(
    "/1/verifiers/{verifier_id}/raw",
    summary="raw verification",
    openapi_extra=json_body(RawBody),
)
async def raw_verification(
    request: Request, verifier_id: VerifierId, account_id: AccountScope, services: ServicesDep
) -> Response:
    """Every reference descriptor against every candidate descriptor: similarity and status
    (similarity >= the verifier's ``verification_threshold``), in the order sent."""
    verifier = await VERIFIERS.get(services, account_id, verifier_id)
    policies = VerifierPolicies.model_validate(verifier.policies or {})
    body = await read_raw_body(request, services)
    scores = raw_similarities(services, body)
    return respond(
        request,
        raw_matches(
            [r.id for r in body.references],
            [c.id for c in body.candidates],
            scores,
            policies.verification_threshold,
        ),
    )

"""The matcher routes of LUNA's API service, beside the Handlers API: ``POST /1/matcher/faces``
(references by face, attribute, event or descriptor; faces found through the matcher) and
``POST /1/matcher/raw`` (descriptors against descriptors)."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.responses import Response

from serve_app.estimators import FACE_DESCRIPTOR
from serve_app.http.json_body import read_model
from serve_app.http.openapi_docs import json_body
from serve_app.http.protocol import UUID_PATTERN, respond
from serve_app.matching.api import candidate_filter
from serve_app.pipeline.match import face_refs
from serve_app.pipeline.verify import (
    MAX_REFERENCES,
    DescriptorEntity,
    ReferenceIds,
    load_references,
)
from serve_app.policies import FaceCandidates, Unit
from serve_app.routes.deps import AccountScope, ServicesDep
from serve_app.routes.verifications import RawBody, raw_similarities, read_raw_body
from serve_app.services import Services
from serve_app.views.verifications import face_matches, raw_matches

router = APIRouter(tags=["matcher"])
# Candidate sets one request may search, as LUNA's matcher limits them.
MAX_CANDIDATE_SETS = 10
ObjectKind = Literal["face", "attribute", "event"]
# LUNA's reference types, and the short forms LUNA's matcher also takes.
KIND_OF_TYPE: dict[str, ObjectKind] = {
    "face_id": "face",
    "face": "face",
    "attribute_id": "attribute",
    "attribute": "attribute",
    "event_id": "event",
    "event": "event",
}


class MatchReference(BaseModel):
    """What to search with: a stored object by id (``face_id``, ``attribute_id``,
    ``event_id``), or a descriptor (``descriptor``: an SDK descriptor in ``data``;
    ``raw_descriptor``: raw float32 bytes in ``data`` with their ``version``)."""

    model_config = ConfigDict(extra="forbid")
    type: (
        Literal["face_id", "attribute_id", "event_id", "face", "attribute", "event", "descriptor"]
        | Literal["sdk_descriptor", "raw_descriptor"]
    )
    id: Annotated[str, Field(min_length=1, max_length=128)]
    data: str | bytes | None = None
    version: Annotated[int, Field(ge=0, le=65535)] | None = None

    @model_validator(mode="after")
    def _data_for_descriptors(self) -> MatchReference:
        if self.kind is None:
            if self.data is None:
                raise ValueError(f"a reference of type {self.type} needs data")
        else:
            if self.data is not None or self.version is not None:
                raise ValueError(f"a reference of type {self.type} takes only its id")
            if not UUID_PATTERN.match(self.id.lower()):
                raise ValueError(f"a reference of type {self.type} is named by a UUID")
        return self

    @property
    def kind(self) -> ObjectKind | None:
        """The kind of stored object named, or None for a descriptor."""
        return KIND_OF_TYPE.get(self.type)

    def entity(self) -> DescriptorEntity:
        """The descriptor this reference carries."""
        kind = "raw_descriptor" if self.type == "raw_descriptor" else "sdk_descriptor"
        return DescriptorEntity(id=self.id, type=kind, data=self.data or "", version=self.version)


class FaceFilters(FaceCandidates):
    """Which of the account's faces are candidates (all given conditions hold)."""

    origin: Literal["faces"] = "faces"


class CandidateSet(BaseModel):
    """One set of candidates: the filters, how many best faces, and the least similarity."""

    model_config = ConfigDict(extra="forbid")
    filters: FaceFilters = Field(default_factory=FaceFilters)
    limit: int = Field(3, ge=1, le=100)
    threshold: Unit = 0.0


class MatchFacesBody(BaseModel):
    """``POST /1/matcher/faces`` body."""

    model_config = ConfigDict(extra="forbid")
    references: Annotated[list[MatchReference], Field(min_length=1, max_length=MAX_REFERENCES)]
    candidates: Annotated[list[CandidateSet], Field(min_length=1, max_length=MAX_CANDIDATE_SETS)]


@router.post("/1/matcher/faces", summary="match faces", openapi_extra=json_body(MatchFacesBody))
async def match_faces(
    request: Request, account_id: AccountScope, services: ServicesDep
) -> Response:
    """For each reference and each candidate set, the best faces of the account, best first,
    with LUNA similarity at least the set's threshold."""
    body = await read_model(request, MatchFacesBody)
    services.estimators.require(FACE_DESCRIPTOR)
    vectors = await _reference_vectors(services, account_id, body.references)
    matcher = await services.matcher()
    version = services.estimators.descriptor_version()
    storage = await services.storage.ready()
    per_set = []
    for candidates in body.candidates:
        hits = await matcher.search(
            account_id, vectors, version, candidate_filter(candidates.filters), candidates.limit
        )
        refs = await face_refs(
            storage, account_id, list(dict.fromkeys(h.face_id for found in hits for h in found))
        )
        per_reference = []
        for found in hits:
            known = [h for h in found if h.face_id in refs]  # removed since the search: gone
            scores = services.estimators.similarity(np.array([h.cosine for h in known]))
            per_reference.append(
                [
                    (refs[h.face_id], round(float(s), 6))
                    for h, s in zip(known, np.atleast_1d(scores), strict=True)
                    if round(float(s), 6) >= candidates.threshold
                ]
            )
        per_set.append(per_reference)
    return respond(
        request,
        face_matches(
            [{"type": r.type, "id": r.id} for r in body.references],
            [c.filters.model_dump(exclude_none=True) for c in body.candidates],
            per_set,
        ),
    )


async def _reference_vectors(
    services: Services, account_id: str, references: list[MatchReference]
) -> np.ndarray:
    """The (R, D) descriptors of the references, in order."""
    model = services.estimators.descriptor_model
    version, dims = model.descriptor_version, model.descriptor_size
    named = {
        kind: tuple(dict.fromkeys(r.id.lower() for r in references if r.kind == kind))
        for kind in ("face", "attribute", "event")
    }
    loaded = await load_references(
        await services.storage.ready(),
        account_id,
        version,
        ReferenceIds(
            face_ids=named["face"], attribute_ids=named["attribute"], event_ids=named["event"]
        ),
    )
    by_key = {(r.kind, r.object_id): r.vector for r in loaded}
    vectors = []
    for i, reference in enumerate(references):
        if reference.kind is None:
            vectors.append(reference.entity().decode(version, dims, f"references.{i}"))
        else:
            vectors.append(by_key[(reference.kind, reference.id.lower())])
    return np.stack(vectors).astype(np.float32)


@router.post("/1/matcher/raw", summary="raw matching", openapi_extra=json_body(RawBody))
async def match_raw(request: Request, account_id: AccountScope, services: ServicesDep) -> Response:
    """Every reference descriptor against every candidate descriptor: the similarity, in
    the order sent. JSON or msgpack."""
    body = await read_raw_body(request, services)
    scores = raw_similarities(services, body)
    return respond(
        request,
        raw_matches([r.id for r in body.references], [c.id for c in body.candidates], scores),
    )

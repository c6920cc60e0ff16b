"""JSON of verifications and of the matcher routes, as LUNA clients read them.

``POST /1/verifiers/{id}/verifications`` answers LUNA's ``VerifyResponse`` (see
../shared/reference/luna-api-notes.md, "Verifier perform verification response"):
``images[].detections.face_detections[].{face_attributes, sample, verifications}``, with
each verification ``{face | attribute | event, similarity, status}``. The raw routes answer
``{"matches": [{"reference_id", "matches": [{"candidate_id", "similarity"(, "status")}]}]}``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from serve_app.pipeline.events import FaceRef
from serve_app.pipeline.verify import AttributeRef, Reference, VerifiedFace, VerifiedImage
from serve_app.storage.samples import sample_url
from serve_app.views.events import event_ref, face_ref
from serve_app.views.objects import timestamp
from serve_app.views.presenters import (
    detector_detection,
    filtered_detections,
    image_status,
)


def attribute_ref(value: AttributeRef) -> dict[str, Any]:
    """A temporary attribute as a verification names it."""
    return {
        "attribute_id": value.attribute_id,
        "url": f"/1/attributes/{value.attribute_id}",
        "samples": list(value.samples),
        "create_time": timestamp(value.create_time),
        "expire_time": timestamp(value.expire_time),
    }


def reference(value: Reference) -> dict[str, Any]:
    """``{"face": ...}``, ``{"attribute": ...}`` or ``{"event": ...}``: what was compared."""
    if value.face is not None:
        return {"face": face_ref(value.face)}
    if value.attribute is not None:
        return {"attribute": attribute_ref(value.attribute)}
    assert value.event is not None
    return {"event": event_ref(value.event)}


def _face_detection(verified: VerifiedFace, from_descriptor: bool) -> dict[str, Any]:
    face = verified.face
    descriptor = face.descriptor
    samples = verified.attribute_samples or ([face.sample_id] if face.sample_id else [])
    attribute_id = verified.attribute_id
    sample = None
    if not from_descriptor:
        sample = {
            "face": {
                "sample_id": face.sample_id,
                "url": sample_url(face.sample_id) if face.sample_id else None,
                "detection": detector_detection(face),
            }
        }
    return {
        "face_attributes": {
            "attribute_id": attribute_id,
            "url": f"/1/attributes/{attribute_id}" if attribute_id else None,
            "samples": samples,
            "score": round(descriptor.score, 6) if descriptor is not None else None,
            "basic_attributes": (
                face.basic_attributes.rounded() if face.basic_attributes is not None else None
            ),
        },
        "sample": sample,
        "verifications": [
            {**reference(v.reference), "similarity": v.similarity, "status": v.status}
            for v in verified.verifications
        ],
    }


def verification_image(image: VerifiedImage) -> dict[str, Any]:
    """One entry of ``images``: the input's status, its verified and its filtered faces."""
    result = image.result
    out = image_status(result)
    if result.error is None:
        out["detections"] = {
            "face_detections": [_face_detection(v, image.from_descriptor) for v in image.faces],
            "filtered_detections": filtered_detections([result]),
        }
    return out


def verifications_response(images: list[VerifiedImage]) -> dict[str, Any]:
    """The whole answer of ``POST /1/verifiers/{id}/verifications``."""
    return {"images": [verification_image(image) for image in images]}


def raw_matches(
    reference_ids: list[str],
    candidate_ids: list[str],
    scores: np.ndarray,
    threshold: float | None = None,
) -> dict[str, Any]:
    """``{"matches": [...]}``: every reference's candidates in the order sent, each with its
    similarity, and with ``status`` (similarity >= ``threshold``) when a verifier answers."""
    out = []
    for reference_id, row in zip(reference_ids, scores, strict=True):
        matches = []
        for candidate_id, score in zip(candidate_ids, row, strict=True):
            match: dict[str, Any] = {"candidate_id": candidate_id, "similarity": float(score)}
            if threshold is not None:
                match["status"] = bool(score >= threshold)
            matches.append(match)
        out.append({"reference_id": reference_id, "matches": matches})
    return {"matches": out}


def face_matches(
    references: list[dict[str, str]],
    filters: list[dict[str, Any]],
    found: list[list[list[tuple[FaceRef, float]]]],
) -> list[dict[str, Any]]:
    """``POST /1/matcher/faces``: for each reference, one entry per candidate set with its
    filters and ``result``, the faces found best first. ``found[s][r]`` are the faces of
    candidate set ``s`` for reference ``r``."""
    return [
        {
            "reference": ref,
            "matches": [
                {
                    "filters": set_filters,
                    "result": [
                        {"face": face_ref(face), "similarity": similarity}
                        for face, similarity in per_set[r]
                    ],
                }
                for set_filters, per_set in zip(filters, found, strict=True)
            ],
        }
        for r, ref in enumerate(references)
    ]

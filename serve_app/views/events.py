"""JSON of events, as ``POST /1/handlers/{id}/events`` answers them and as they are stored,
read back and pushed to subscribers (the fields LUNA clients read: see
../shared/reference/luna-api-notes.md, "Event" and "Pushed handler event")."""

from __future__ import annotations

from typing import Any

from serve_app.pipeline.events import Candidate, EventRecord, EventRef, FaceRef
from serve_app.pipeline.faces import Body, Face, ImageResult
from serve_app.storage.samples import BODY, sample_url
from serve_app.views.objects import timestamp
from serve_app.views.presenters import (
    aggregate_estimations,
    body_attributes,
    detector_detection,
    filtered_detections,
    image_status,
)
from serve_app.views.values import rect


def event_url(event_id: str) -> str:
    """Where a stored event is read."""
    return f"/1/events/{event_id}"


def face_ref(face: FaceRef) -> dict[str, Any]:
    """A stored face as events and matches show it."""
    out: dict[str, Any] = {
        "face_id": face.face_id,
        "external_id": face.external_id,
        "user_data": face.user_data,
        "avatar": face.avatar,
        "event_id": face.event_id,
        "lists": list(face.lists),
        "url": f"/1/faces/{face.face_id}",
    }
    if face.create_time is not None:
        out["create_time"] = timestamp(face.create_time)
    return out


def event_ref(event: EventRef) -> dict[str, Any]:
    """A stored event as matches show it."""
    return {
        "event_id": event.event_id,
        "handler_id": event.handler_id,
        "external_id": event.external_id,
        "source": event.source,
        "tags": list(event.tags),
        "create_time": timestamp(event.create_time) if event.create_time else None,
        "url": event_url(event.event_id),
    }


def candidate(value: Candidate) -> dict[str, Any]:
    """One match candidate: a face or an event, and its similarity."""
    out: dict[str, Any] = {"similarity": round(value.similarity, 6)}
    if value.face is not None:
        out["face"] = face_ref(value.face)
    if value.event is not None:
        out["event"] = event_ref(value.event)
    return out


def face_sample(face: Face) -> dict[str, Any]:
    """A detection's face: its sample and its detection."""
    return {
        "sample_id": face.sample_id,
        "url": sample_url(face.sample_id) if face.sample_id else None,
        "detection": detector_detection(face),
    }


def body_sample(body: Body) -> dict[str, Any]:
    """A detection's body: its sample, box and attributes."""
    detection: dict[str, Any] = {"rect": rect(body.box)}
    if attributes := body_attributes(body):
        detection["attributes"] = attributes
    return {
        "sample_id": body.sample_id,
        "url": sample_url(body.sample_id, BODY) if body.sample_id else None,
        "detection": detection,
    }


def event(record: EventRecord) -> dict[str, Any]:
    """One event."""
    meta = record.meta
    face_attributes: dict[str, Any] | None = None
    if record.descriptor is not None or record.basic_attributes is not None:
        face_attributes = {
            "attribute_id": record.attribute_id,
            "url": f"/1/attributes/{record.attribute_id}" if record.attribute_id else None,
            "samples": record.sample_ids,
            "score": round(record.descriptor.score, 6) if record.descriptor else None,
            "basic_attributes": (
                record.basic_attributes.rounded() if record.basic_attributes else None
            ),
        }
    return {
        "event_id": record.event_id,
        "url": event_url(record.event_id),
        "handler_id": meta.handler_id,
        "account_id": meta.account_id,
        "create_time": timestamp(meta.create_time),
        "end_time": timestamp(meta.end_time),
        "source": meta.source,
        "external_id": meta.external_id,
        "user_data": meta.user_data,
        "track_id": meta.track_id,
        "tags": list(record.tags),
        "location": meta.location,
        "meta": meta.meta,
        "face": face_ref(record.face) if record.face is not None else None,
        "face_attributes": face_attributes,
        "body_attributes": None,
        "matches": [
            {"label": m.label, "candidates": [candidate(c) for c in m.candidates]}
            for m in record.matches
        ],
        "detections": [
            {
                "filename": d.image.filename,
                "detect_time": timestamp(d.image.detect_time),
                "image_origin": d.image.image_origin,
                "samples": {
                    "face": face_sample(d.face) if d.face is not None else None,
                    "body": body_sample(d.body) if d.body is not None else None,
                },
            }
            for d in record.detections
        ],
        # An event of several faces (aggregate_attributes=1) carries their aggregate.
        "aggregate_estimations": (
            aggregate_estimations([d.face for d in record.detections if d.face is not None])
            if len(record.detections) > 1
            else None
        ),
    }


def generate_response(events: list[EventRecord], results: list[ImageResult]) -> dict[str, Any]:
    """``{events, images, filtered_detections}`` of ``POST /1/handlers/{id}/events``."""
    return {
        "events": [event(e) for e in events],
        "images": [image_status(r) for r in results],
        "filtered_detections": filtered_detections(results),
    }

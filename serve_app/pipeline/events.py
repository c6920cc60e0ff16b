"""Events as the handler steps fill them: detections, attributes, matches, tags, and what
the store step made of them (attribute, face, stored or not)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from models.face.age_gender import AgeGender
from models.face.arcface import Descriptor
from serve_app.estimations import BY_NAME
from serve_app.pipeline.extract import aggregate
from serve_app.pipeline.faces import Body, Face, ImageResult
from serve_app.storage.tables import Event


@dataclass(frozen=True)
class EventMeta:
    """What the request says of its events (query and headers)."""

    handler_id: str
    account_id: str
    create_time: datetime
    end_time: datetime
    source: str | None = None
    external_id: str = ""
    user_data: str = ""
    track_id: str | None = None
    tags: tuple[str, ...] = ()
    location: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None


@dataclass
class Detection:
    """One person of one image, as an event records it: a face (with its body, if one was
    found), or, with ``multiface_policy=1``, a body without a face."""

    image: ImageResult
    face: Face | None = None
    body: Body | None = None

    @classmethod
    def of(cls, image: ImageResult, face: Face) -> Detection:
        """A face's detection, with its body."""
        return cls(image, face, face.body)


@dataclass(frozen=True)
class FaceRef:
    """A stored face as matches and events show it."""

    face_id: str
    external_id: str = ""
    user_data: str = ""
    avatar: str = ""
    event_id: str | None = None
    lists: tuple[str, ...] = ()
    create_time: datetime | None = None


@dataclass(frozen=True)
class EventRef:
    """A stored event as matches show it."""

    event_id: str
    handler_id: str | None
    external_id: str
    source: str
    tags: tuple[str, ...]
    create_time: datetime | None

    @classmethod
    def of(cls, row: Event) -> EventRef:
        """The reference to a stored event row."""
        return cls(
            event_id=row.event_id,
            handler_id=row.handler_id,
            external_id=row.external_id,
            source=row.source,
            tags=tuple((row.body or {}).get("tags") or ()),
            create_time=row.create_time,
        )


@dataclass(frozen=True)
class Candidate:
    """One match: a stored face or event and its LUNA similarity."""

    similarity: float
    face: FaceRef | None = None
    event: EventRef | None = None


@dataclass(frozen=True)
class MatchResult:
    """The candidates of one match policy, best first."""

    label: str
    candidates: list[Candidate]


@dataclass
class EventRecord:
    """One event, filled step by step."""

    event_id: str
    meta: EventMeta
    detections: list[Detection]
    descriptor: Descriptor | None = None
    basic_attributes: AgeGender | None = None
    matches: list[MatchResult] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    attribute_id: str | None = None
    face: FaceRef | None = None
    stored: bool = False

    @property
    def has_face(self) -> bool:
        """Whether the event is about a face: detected, or a descriptor sent instead."""
        return self.descriptor is not None or any(d.face for d in self.detections)

    @property
    def sample_ids(self) -> list[str]:
        """The face samples stored for this event."""
        return [d.face.sample_id for d in self.detections if d.face and d.face.sample_id]

    def estimation(self, name: str) -> Any:
        """The event's value of estimation ``name``: its face's, or, for an event of several
        faces (``aggregate_attributes``), their aggregate where the estimation has one."""
        values = [
            v for d in self.detections if d.face and (v := d.face.estimations.get(name)) is not None
        ]
        if len(values) <= 1:
            return values[0] if values else None
        declared = BY_NAME[name]
        return declared.aggregate(values) if declared.aggregate else values[0]

    def best_similarity(self, label: str) -> float | None:
        """The best similarity under match ``label``; None without candidates."""
        for match in self.matches:
            if match.label == label and match.candidates:
                return match.candidates[0].similarity
        return None


def build_events(
    results: Sequence[ImageResult], meta: EventMeta, aggregate_attributes: bool
) -> list[EventRecord]:
    """One event per face, or one event for every face with ``aggregate_attributes``."""
    detections = [Detection.of(r, f) for r in results for f in r.live_faces]
    # Bodies without a face (multiface_policy=1) are events of their own.
    detections += [Detection(result, body=b) for result in results for b in result.lone_bodies]
    groups = [detections] if aggregate_attributes and detections else [[d] for d in detections]
    events = []
    for group in groups:
        descriptor, attributes = aggregate([d.face for d in group if d.face is not None])
        events.append(EventRecord(str(uuid.uuid4()), meta, group, descriptor, attributes))
    return events


def descriptor_event(descriptor: Descriptor, meta: EventMeta) -> EventRecord:
    """An event from a descriptor sent instead of an image (no detection)."""
    return EventRecord(str(uuid.uuid4()), meta, [], descriptor)


Renderer = Callable[[EventRecord], dict[str, Any]]

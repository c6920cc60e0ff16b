"""The face, body and image records that the pipeline fills step by step."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import numpy as np

from models.types import FaceDetection
from serve_app.errors import LunaError


@dataclass(frozen=True)
class FilterReason:
    """Why a face was filtered out: the filter, the face's value and the threshold (for a
    state filter, the states allowed)."""

    filter_name: str
    object_value: float
    threshold_value: float | list[int]


def _estimation(name: str) -> property:
    """A face's value of estimation ``name`` as an attribute (None until estimated)."""

    def get(face: Face) -> Any:
        return face.estimations.get(name)

    def put(face: Face, value: Any) -> None:
        face.estimations[name] = value

    return property(get, put, doc=f"The face's {name}, None until estimated.")


@dataclass
class Face:
    """One face of an image, filled step by step by the estimators that run on it.

    ``box`` is (x1, y1, x2, y2) in image pixels. ``score`` and ``landmarks5`` are None for
    face warps, whose face position is given rather than detected. ``estimations`` holds the
    value of each declared estimation made (serve_app.estimations), by name; the ones the
    pipeline itself reads have attributes of their own.
    """

    box: np.ndarray
    score: float | None = None
    landmarks5: np.ndarray | None = None
    warp: np.ndarray | None = field(default=None, repr=False)
    estimations: dict[str, Any] = field(default_factory=dict, repr=False)
    filter_reasons: list[FilterReason] = field(default_factory=list)
    sample_id: str | None = None
    body: Body | None = field(default=None, repr=False)

    landmarks68: ClassVar[property] = _estimation("landmarks68")
    head_pose: ClassVar[property] = _estimation("head_pose")
    quality: ClassVar[property] = _estimation("quality")
    descriptor: ClassVar[property] = _estimation("descriptor")
    basic_attributes: ClassVar[property] = _estimation("basic_attributes")

    @classmethod
    def from_detection(cls, detection: FaceDetection, offset: tuple[float, float] = (0, 0)) -> Face:
        """A face from a detector's result, shifted by ``offset`` (crop origin)."""
        dx, dy = offset
        box = detection.box + np.array([dx, dy, dx, dy], dtype=np.float32)
        points = None
        if detection.landmarks5 is not None:
            points = detection.landmarks5 + np.array([dx, dy], dtype=np.float32)
        return cls(box=box, score=detection.score, landmarks5=points)


@dataclass
class Body:
    """One person's body in an image: its box (x1, y1, x2, y2) in image pixels, the
    detector's score (None for a body warp given as input), its 128x256 warp, and the value
    of each body estimation made, by name."""

    box: np.ndarray
    score: float | None = None
    warp: np.ndarray | None = field(default=None, repr=False)
    estimations: dict[str, Any] = field(default_factory=dict, repr=False)
    sample_id: str | None = None


@dataclass
class ImageResult:
    """What became of one input image. ``source`` is the bytes it came as (kept for
    storing the source image); ``image`` the decoded pixels."""

    filename: str
    error: LunaError | None = None
    faces: list[Face] = field(default_factory=list)
    filtered: list[Face] = field(default_factory=list)
    bodies: list[Body] = field(default_factory=list)
    exif: dict[str, Any] | None = None
    image: np.ndarray | None = field(default=None, repr=False)
    source: bytes | None = field(default=None, repr=False)
    warped: bool = False
    detect_time: datetime = field(default_factory=lambda: datetime.now(UTC))
    image_origin: str | None = None

    @property
    def live_faces(self) -> list[Face]:
        """The faces still in play: none when the image failed."""
        return self.faces if self.error is None else []

    @property
    def live_bodies(self) -> list[Body]:
        """The bodies still in play: none when the image failed."""
        return self.bodies if self.error is None else []

    @property
    def lone_bodies(self) -> list[Body]:
        """The bodies in play that no face in play is tied to (``multiface_policy=1``)."""
        paired = {id(f.body) for f in self.live_faces if f.body is not None}
        return [b for b in self.live_bodies if id(b) not in paired]

    def move_filtered(self) -> None:
        """Faces that a filter gave a reason against move to ``filtered``."""
        self.filtered.extend(f for f in self.faces if f.filter_reasons)
        self.faces = [f for f in self.faces if not f.filter_reasons]

"""The face and image records that the pipeline fills step by step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.age_gender import AgeGender
from models.arcface import Descriptor
from models.head_pose import HeadPose
from models.image_quality import ImageQuality
from models.types import FaceDetection
from serve_app.errors import LunaError


@dataclass(frozen=True)
class FilterReason:
    """Why a face was filtered out: the filter, the face's value and the threshold."""

    filter_name: str
    object_value: float
    threshold_value: float


@dataclass
class Face:
    """One face of an image, filled step by step by the estimators that run on it.

    ``box`` is (x1, y1, x2, y2) in image pixels. ``score`` and ``landmarks5`` are None for
    face warps, whose face position is given rather than detected.
    """

    box: np.ndarray
    score: float | None = None
    landmarks5: np.ndarray | None = None
    landmarks68: np.ndarray | None = None
    head_pose: HeadPose | None = None
    warp: np.ndarray | None = field(default=None, repr=False)
    quality: ImageQuality | None = None
    descriptor: Descriptor | None = field(default=None, repr=False)
    basic_attributes: AgeGender | None = None
    filter_reasons: list[FilterReason] = field(default_factory=list)
    sample_id: str | None = None

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
class ImageResult:
    """What became of one input image."""

    filename: str
    error: LunaError | None = None
    faces: list[Face] = field(default_factory=list)
    filtered: list[Face] = field(default_factory=list)
    exif: dict[str, Any] | None = None
    image: np.ndarray | None = field(default=None, repr=False)
    warped: bool = False

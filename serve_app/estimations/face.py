"""The face estimations: each one declared once, with its JSON shape beside it.

A row names its estimator, what it takes, the flags that ask for it, where its value sits in
LUNA's JSON and how it is written there (see :class:`~serve_app.estimations.declaration.
Estimation`). Rows without ``present`` have no model in this service yet: asking for them is
LUNA's licence error naming the estimator, the way LUNA answers when a feature is off.

Adding an estimation with a model is its adapter (``models/``), its row and JSON shape here,
its tests, and its estimator's entry in the serve configs; nothing else names it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from models import descriptor_format
from models.face.age_gender import AgeGender
from models.face.arcface import Descriptor
from models.face.head_pose import HeadPose
from models.face.image_quality import ImageQuality
from models.face.landmarks import to_landmarks68
from serve_app.estimations import aggregation
from serve_app.estimations.declaration import Estimation, Input, Place, Shape, Stage
from serve_app.views.values import b64, points

# Landmarks


def _landmarks(value: Any) -> list[list[int]]:
    return points(value)


# Image quality of the warp


class QualityOut(Shape):
    """Image quality of the face, each in [0, 1], 1 is good."""

    blurriness: float
    dark: float
    illumination: float
    specularity: float
    light: float


def _quality(value: ImageQuality) -> dict[str, float]:
    return {
        "blurriness": value.blurriness,
        "dark": value.dark,
        "illumination": value.illumination,
        "specularity": value.specularity,
        "light": value.light,
    }


# Head pose


class HeadPoseOut(Shape):
    """Head rotation in degrees: pitch > 0 chin up, yaw > 0 face turned to the image's
    right, roll > 0 leaning clockwise."""

    pitch: float
    roll: float
    yaw: float


def _head_pose(value: HeadPose) -> dict[str, float]:
    return {
        "pitch": round(value.pitch, 2),
        "roll": round(value.roll, 2),
        "yaw": round(value.yaw, 2),
    }


# Descriptor


class DescriptorOut(Shape):
    """A face descriptor: SDK descriptor container and raw float32 bytes, base64."""

    sdk_descriptor: str
    raw_descriptor: str
    score: float = Field(description="Descriptor quality in [0, 1]")
    version: int


def present_descriptor(value: Descriptor) -> dict[str, Any]:
    """The descriptor as an SDK descriptor container and raw bytes, both base64."""
    return {
        "sdk_descriptor": b64(descriptor_format.pack(value.vector, value.version)),
        "raw_descriptor": b64(descriptor_format.raw(value.vector)),
        "score": round(value.score, 6),
        "version": value.version,
    }


# Age and gender


class BasicAttributesOut(Shape):
    """Age in years and gender (0 female, 1 male). No ethnicity: no model for it."""

    age: int
    gender: int


def _basic_attributes(value: AgeGender) -> dict[str, int]:
    return value.rounded()


FACE_ESTIMATIONS: tuple[Estimation, ...] = (
    Estimation(
        "landmarks68", "face_landmarks", Input.IMAGE_BOX, Stage.DETECT,
        ("detect_landmarks68", "estimate_landmarks68"), "detect_landmarks68",
        convert=to_landmarks68, place=Place.DETECTION, present=_landmarks,
        schema=list[list[int]],
    ),
    Estimation(
        "head_pose", "head_pose", Input.LANDMARKS68, Stage.DETECT,
        ("estimate_head_pose",), "estimate_head_pose", needs=("landmarks68",),
        present=_head_pose, schema=HeadPoseOut,
    ),
    Estimation(
        "quality", "image_quality", Input.WARP, Stage.DETECT,
        ("estimate_quality",), "estimate_quality",
        place=Place.DETECTION, present=_quality, schema=QualityOut,
    ),
    Estimation(
        "descriptor", "face_descriptor", Input.WARP, Stage.EXTRACT,
        ("estimate_face_descriptor", "extract_descriptor"), "extract_face_descriptor",
        present=present_descriptor, schema=DescriptorOut,
        aggregate=aggregation.aggregate_descriptors,
    ),
    Estimation(
        "basic_attributes", "basic_attributes", Input.WARP, Stage.EXTRACT,
        ("estimate_basic_attributes", "extract_basic_attributes"), "extract_basic_attributes",
        present=_basic_attributes, schema=BasicAttributesOut,
        aggregate=aggregation.aggregate_basic_attributes,
    ),
    # Estimators without a model in this service yet.
    Estimation("emotions", "emotions", Input.WARP, Stage.DETECT,
               ("estimate_emotions",), "estimate_emotions"),
    Estimation("mask", "mask", Input.WARP, Stage.DETECT,
               ("estimate_mask", "mask_states"), "estimate_mask", filter_key="mask"),
    Estimation("glasses", "glasses", Input.WARP, Stage.DETECT,
               ("estimate_glasses",), "estimate_glasses"),
    Estimation("eyes", "eyes", Input.WARP, Stage.DETECT,
               ("estimate_eyes_attributes",), "estimate_eyes_attributes",
               key="eyes_attributes"),
    Estimation("gaze", "gaze", Input.WARP, Stage.DETECT,
               ("estimate_gaze",), "estimate_gaze"),
    Estimation("mouth", "mouth", Input.WARP, Stage.DETECT,
               ("estimate_mouth_attributes",), "estimate_mouth_attributes",
               key="mouth_attributes"),
    Estimation("liveness", "liveness", Input.WARP, Stage.DETECT,
               ("estimate_liveness", "liveness_states"), "estimate_liveness.estimate",
               filter_key="liveness"),
    Estimation("ethnicity", "ethnicity", Input.WARP, Stage.EXTRACT, (), None,
               filter_key="ethnicities"),
    Estimation("face_quality", "face_quality", Input.WARP, Stage.DETECT,
               ("estimate_face_quality",), "face_quality.estimate", place=Place.DETECTION),
    Estimation("body_detection", "body_detector", Input.BODY, Stage.DETECT,
               ("detect_body",), "detect_body"),
    Estimation("body_basic_attributes", "body_attributes", Input.BODY, Stage.DETECT,
               ("estimate_body_basic_attributes",), "body_attributes.estimate_basic_attributes"),
    Estimation("upper_body", "body_attributes", Input.BODY, Stage.DETECT,
               ("estimate_upper_body",), "body_attributes.estimate_upper_body"),
    Estimation("lower_body", "body_attributes", Input.BODY, Stage.DETECT,
               ("estimate_lower_body",), "body_attributes.estimate_lower_body"),
    Estimation("accessories", "body_attributes", Input.BODY, Stage.DETECT,
               ("estimate_accessories",), "body_attributes.estimate_accessories"),
    Estimation("body_warp", "body_detector", Input.BODY, Stage.EXTRACT,
               ("estimate_body_warp",), None),
    Estimation("body_descriptor", "body_descriptor", Input.BODY, Stage.EXTRACT,
               ("estimate_body_descriptor",), "extract_body_descriptor"),
)  # fmt: skip

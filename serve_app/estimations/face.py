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
from models.face.emotions import Emotions
from models.face.eyes_gaze import EyesState, EyeState, GazeDirection
from models.face.glasses import GlassesState
from models.face.head_pose import HeadPose
from models.face.image_quality import ImageQuality
from models.face.iso import IsoResult
from models.face.landmarks import to_landmarks68
from models.face.liveness import Liveness
from models.face.mask import MaskState
from models.face.mouth import MouthState
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


# Emotions


class EmotionsOut(Shape):
    """The most probable emotion and every emotion's probability (summing to 1)."""

    predominant_emotion: str = Field(
        examples=["happiness"],
        description="anger, disgust, fear, happiness, sadness, surprise or neutral",
    )
    estimations: dict[str, float]


def _emotions(value: Emotions) -> dict[str, Any]:
    return {
        "predominant_emotion": value.predominant_emotion,
        "estimations": {k: round(v, 6) for k, v in value.estimations().items()},
    }


# Mask

#: LUNA's mask states, as ``mask_states`` and policy filters number them.
MASK_STATES = {"missing": 1, "medical_mask": 2, "occluded": 3}


class MaskOut(Shape):
    """The most probable mask state and each state's probability (summing to 1)."""

    predominant_mask: str = Field(description="medical_mask, missing or occluded")
    estimations: dict[str, float]


def _mask(value: MaskState) -> dict[str, Any]:
    return {
        "predominant_mask": value.predominant_mask,
        "estimations": {k: round(v, 6) for k, v in value.estimations().items()},
    }


def _mask_state(value: MaskState) -> int:
    return MASK_STATES[value.predominant_mask]


# Mouth


class MouthOut(Shape):
    """How open the mouth is and how much it smiles, each in [0, 1]. ``occluded`` is given
    only by a mouth estimator that measures it."""

    opened: float
    smile: float
    occluded: float | None = None


def _mouth(value: MouthState) -> dict[str, Any]:
    out = {"opened": round(value.opened, 6), "smile": round(value.smile, 6)}
    if value.occluded is not None:
        out["occluded"] = round(value.occluded, 6)
    return out


# Glasses (opt-in model)


class GlassesOut(Shape):
    """Whether the face wears glasses. The model tells glasses from none but not eyeglasses
    from sunglasses, so it answers ``glasses`` or ``no_glasses`` (LUNA's enum also has
    ``eyeglasses`` and ``sunglasses``), with the probability of each."""

    glasses: str = Field(description="glasses or no_glasses")
    estimations: dict[str, float]


def _glasses(value: GlassesState) -> dict[str, Any]:
    return {
        "glasses": value.state,
        "estimations": {
            "glasses": round(value.glasses, 6),
            "no_glasses": round(1.0 - value.glasses, 6),
        },
    }


# Eyes and gaze (opt-in model)


class EyeOut(Shape):
    """One eye (named as seen in the image): open or closed, and its points in the face
    warp's pixels (5 iris points, 16 eyelid points)."""

    state: str = Field(description="open or closed")
    iris_landmarks: list[list[float]]
    eyelid_landmarks: list[list[float]]


class EyesOut(Shape):
    """Both eyes."""

    left_eye: EyeOut
    right_eye: EyeOut


def _eye(value: EyeState) -> dict[str, Any]:
    return {
        "state": value.state,
        "iris_landmarks": [[round(float(x), 2), round(float(y), 2)]
                           for x, y in value.iris_landmarks[:, :2]],
        "eyelid_landmarks": [[round(float(x), 2), round(float(y), 2)]
                             for x, y in value.eyelid_landmarks[:, :2]],
    }  # fmt: skip


def _eyes(value: EyesState) -> dict[str, Any]:
    return {"left_eye": _eye(value.left_eye), "right_eye": _eye(value.right_eye)}


class GazeOut(Shape):
    """Where the eyes look, relative to the head, in degrees: yaw > 0 to the image's
    right, pitch > 0 up."""

    yaw: float
    pitch: float


def _gaze(value: GazeDirection) -> dict[str, float]:
    return {"yaw": round(value.yaw, 2), "pitch": round(value.pitch, 2)}


# Liveness (a slot: a MiniFASNet-style anti-spoofing model the user configures)

#: LUNA's liveness states, as ``liveness_states`` and policy filters number them.
LIVENESS_PREDICTIONS = {0: "spoof", 1: "real", 2: "unknown"}


class LivenessEstimationsOut(Shape):
    """The probability that the face is real."""

    score: float


class LivenessOut(Shape):
    """Whether the face is real (a live person in front of the camera) or a spoof."""

    prediction: str = Field(description="real, spoof or unknown")
    estimations: LivenessEstimationsOut


def _liveness(value: Liveness) -> dict[str, Any]:
    return {
        "prediction": LIVENESS_PREDICTIONS[value.prediction],
        "estimations": {"score": round(value.score, 6)},
    }


def _liveness_state(value: Liveness) -> int:
    return value.prediction


# ISO/IEC 19794-5 checks (a documented method over the other estimations: models/face/iso.py)


class ThresholdOut(Shape):
    """The range a check's value must lie in; null where the standard sets no bound."""

    min: float | None
    max: float | None


class IsoCheckOut(Shape):
    """One check: the face's value, the range it must lie in, and 1 if it does."""

    name: str = Field(examples=["head_roll"])
    object_value: float
    threshold_value: ThresholdOut
    result: int


class FaceQualityOut(Shape):
    """ISO/IEC 19794-5 checks of the face: ``status`` is 1 when every check made passed;
    ``unavailable`` names the checks whose estimator this deployment lacks."""

    status: int
    checks: list[IsoCheckOut]
    unavailable: list[str]


def present_face_quality(value: IsoResult) -> dict[str, Any]:
    """``{status, checks, unavailable}`` of a face's ISO checks."""
    out = value.as_dict()
    return {"status": out["verdict"], "checks": out["checks"], "unavailable": out["unavailable"]}


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
    Estimation(
        "emotions", "emotions", Input.WARP, Stage.DETECT,
        ("estimate_emotions",), "estimate_emotions",
        present=_emotions, schema=EmotionsOut, aggregate=aggregation.mean_estimations,
    ),
    Estimation(
        "mask", "mask", Input.WARP, Stage.DETECT,
        ("estimate_mask", "mask_states"), "estimate_mask",
        present=_mask, schema=MaskOut, aggregate=aggregation.mean_estimations, state=_mask_state,
        filter_key="mask",
    ),
    Estimation(
        "mouth", "mouth", Input.WARP, Stage.DETECT,
        ("estimate_mouth_attributes",), "estimate_mouth_attributes",
        key="mouth_attributes", present=_mouth, schema=MouthOut,
    ),
    Estimation(
        "glasses", "glasses", Input.WARP, Stage.DETECT,
        ("estimate_glasses",), "estimate_glasses", present=_glasses, schema=GlassesOut,
    ),
    Estimation(
        "eyes", "eyes", Input.WARP, Stage.DETECT,
        ("estimate_eyes_attributes",), "estimate_eyes_attributes",
        key="eyes_attributes", present=_eyes, schema=EyesOut,
    ),
    Estimation(
        "gaze", "gaze", Input.WARP, Stage.DETECT,
        ("estimate_gaze",), "estimate_gaze", present=_gaze, schema=GazeOut,
    ),
    # The background around the face, for the ISO checks only (not presented).
    Estimation("background", "background", Input.IMAGE_BOX, Stage.DETECT, (), None),
    Estimation(
        "face_quality", "face_quality", Input.FACE, Stage.DETECT,
        ("estimate_face_quality",), "face_quality.estimate",
        needs=("head_pose", "quality", "background"),
        wants=("eyes", "mouth", "glasses", "mask", "gaze"),
        place=Place.DETECTION, present=present_face_quality, schema=FaceQualityOut,
    ),
    # Estimators without a model in this service yet.
    Estimation(
        "liveness", "liveness", Input.IMAGE_BOX, Stage.DETECT,
        ("estimate_liveness", "liveness_states"), "estimate_liveness.estimate",
        present=_liveness, schema=LivenessOut, state=_liveness_state, filter_key="liveness",
    ),
    Estimation("ethnicity", "ethnicity", Input.WARP, Stage.EXTRACT, (), None,
               filter_key="ethnicities"),
)  # fmt: skip

"""The table of face estimations: one row per estimation, the only place one is declared.

A row says which estimator (the config key under ``estimators:``) computes it, what it takes
as input, what it needs first, which query flags and which handler policy flag ask for it,
and in which LUNA policy step it runs. From the table come the analysis options of a query or
of a handler's policies, the order the estimations run in, and the list of estimators a
request needs, so that one missing answers LUNA's licence error naming it.

Rows whose estimator has no model in this service yet (emotions, mask, ...) are here too:
asking for them is the licence error, the way LUNA answers when a licensed feature is off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from models.face.landmarks import to_landmarks68


class Input(Enum):
    """What an estimation runs on."""

    IMAGE_BOX = "image and face box"  # the source image around the detection
    LANDMARKS68 = "68 landmarks"
    WARP = "250x250 face warp"
    BODY = "body detection"


class Stage(Enum):
    """The LUNA policy step an estimation belongs to."""

    DETECT = "detect_policy"
    EXTRACT = "extract_policy"


@dataclass(frozen=True)
class FaceStep:
    """One estimation.

    ``field`` is the :class:`serve_app.pipeline.faces.Face` attribute it fills (None while no model
    exists here); ``convert`` turns the adapter's result into that field's value.
    ``policy_flag`` is a dotted path in the stage's policy (e.g. ``estimate_liveness.estimate``).
    """

    name: str
    task: str
    input: Input
    stage: Stage
    query_flags: tuple[str, ...]
    policy_flag: str | None
    field: str | None = None
    needs: tuple[str, ...] = ()
    convert: Callable[[Any], Any] | None = None


FACE_STEPS: tuple[FaceStep, ...] = (
    FaceStep("landmarks68", "face_landmarks", Input.IMAGE_BOX, Stage.DETECT,
             ("detect_landmarks68", "estimate_landmarks68"), "detect_landmarks68",
             field="landmarks68", convert=to_landmarks68),
    FaceStep("head_pose", "head_pose", Input.LANDMARKS68, Stage.DETECT,
             ("estimate_head_pose",), "estimate_head_pose",
             field="head_pose", needs=("landmarks68",)),
    FaceStep("quality", "image_quality", Input.WARP, Stage.DETECT,
             ("estimate_quality",), "estimate_quality", field="quality"),
    FaceStep("descriptor", "face_descriptor", Input.WARP, Stage.EXTRACT,
             ("estimate_face_descriptor", "extract_descriptor"), "extract_face_descriptor",
             field="descriptor"),
    FaceStep("basic_attributes", "basic_attributes", Input.WARP, Stage.EXTRACT,
             ("estimate_basic_attributes", "extract_basic_attributes"), "extract_basic_attributes",
             field="basic_attributes"),
    # Estimators without a model in this service yet.
    FaceStep("emotions", "emotions", Input.WARP, Stage.DETECT,
             ("estimate_emotions",), "estimate_emotions"),
    FaceStep("mask", "mask", Input.WARP, Stage.DETECT,
             ("estimate_mask", "mask_states"), "estimate_mask"),
    FaceStep("glasses", "glasses", Input.WARP, Stage.DETECT,
             ("estimate_glasses",), "estimate_glasses"),
    FaceStep("eyes", "eyes", Input.WARP, Stage.DETECT,
             ("estimate_eyes_attributes",), "estimate_eyes_attributes"),
    FaceStep("gaze", "gaze", Input.WARP, Stage.DETECT,
             ("estimate_gaze",), "estimate_gaze"),
    FaceStep("mouth", "mouth", Input.WARP, Stage.DETECT,
             ("estimate_mouth_attributes",), "estimate_mouth_attributes"),
    FaceStep("liveness", "liveness", Input.WARP, Stage.DETECT,
             ("estimate_liveness", "liveness_states"), "estimate_liveness.estimate"),
    FaceStep("face_quality", "face_quality", Input.WARP, Stage.DETECT,
             ("estimate_face_quality",), "face_quality.estimate"),
    FaceStep("body_detection", "body_detector", Input.BODY, Stage.DETECT,
             ("detect_body",), "detect_body"),
    FaceStep("body_basic_attributes", "body_attributes", Input.BODY, Stage.DETECT,
             ("estimate_body_basic_attributes",), "body_attributes.estimate_basic_attributes"),
    FaceStep("upper_body", "body_attributes", Input.BODY, Stage.DETECT,
             ("estimate_upper_body",), "body_attributes.estimate_upper_body"),
    FaceStep("lower_body", "body_attributes", Input.BODY, Stage.DETECT,
             ("estimate_lower_body",), "body_attributes.estimate_lower_body"),
    FaceStep("accessories", "body_attributes", Input.BODY, Stage.DETECT,
             ("estimate_accessories",), "body_attributes.estimate_accessories"),
    FaceStep("body_warp", "body_detector", Input.BODY, Stage.EXTRACT,
             ("estimate_body_warp",), None),
    FaceStep("body_descriptor", "body_descriptor", Input.BODY, Stage.EXTRACT,
             ("estimate_body_descriptor",), "extract_body_descriptor"),
)  # fmt: skip
STEPS: dict[str, FaceStep] = {step.name: step for step in FACE_STEPS}


def steps_from_flags(flags: Mapping[str, Any]) -> set[str]:
    """The estimations a query's flags ask for (a flag set to anything but 0/None/empty)."""
    return {step.name for step in FACE_STEPS if any(flags.get(f) for f in step.query_flags)}


def steps_from_policy(stage: Stage, policy: Any) -> set[str]:
    """The estimations a detect or extract policy asks for."""
    return {
        step.name
        for step in FACE_STEPS
        if step.stage is stage and step.policy_flag and _lookup(policy, step.policy_flag)
    }


def _lookup(policy: Any, path: str) -> Any:
    value = policy
    for part in path.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def with_needs(names: Iterable[str]) -> list[FaceStep]:
    """The steps for ``names`` and everything they need, in table order (needs first)."""
    wanted: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name not in wanted:
            wanted.add(name)
            pending.extend(STEPS[name].needs)
    return [step for step in FACE_STEPS if step.name in wanted]

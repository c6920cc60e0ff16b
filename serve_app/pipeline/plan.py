"""One plan of what to do with a request's images, built from a query or from policies.

``/1/detector``, ``/1/sdk``, ``/1/extractor``, handler events and verifications all run a
:class:`Plan` through the same steps (``detect``, ``extract``, then for handlers ``match``,
``store`` and ``tags``). The estimations asked for come from their declarations
(:mod:`serve_app.estimations`), so does the list of estimators a plan needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from serve_app.errors import BAD_QUERY, ESTIMATOR_DISABLED, LunaError
from serve_app.estimations import (
    BY_NAME,
    Estimation,
    Input,
    Stage,
    filter_tasks,
    from_flags,
    from_policy,
    state_filters,
    with_needs,
)

FACE_DETECTOR = "face_detector"
BODY_DETECTOR = "body_detector"
RAW_IMAGE, FACE_WARP, BODY_WARP = 0, 1, 2


@dataclass(frozen=True)
class Plan:
    """What to detect and estimate on a request's images, and how to filter faces.

    ``estimations`` are the names of the estimations asked for; what they need is added when the
    plan runs. ``keep_warps`` makes warps even when no estimation needs them (face samples,
    ``estimate_face_warp``). ``strict_warps``: an estimation that needs the source image
    asked for on a face warp is an error (``/1/detector``), not skipped (``/1/sdk``).
    """

    multiface_policy: int = 1
    image_type: int = RAW_IMAGE
    detect_face: bool = True
    detect_body: bool = False
    use_exif: bool = True
    extract_exif: bool = False
    estimations: frozenset[str] = frozenset()
    keep_warps: bool = False
    angle_thresholds: Mapping[str, float] = field(default_factory=dict)
    states: Mapping[str, frozenset[int]] = field(default_factory=dict)
    face_quality: Any = None
    score_threshold: float = 0.0
    aggregate: bool = False
    strict_warps: bool = False

    @property
    def warped(self) -> bool:
        """Whether the inputs are face warps rather than photos."""
        return self.image_type == FACE_WARP

    @property
    def faces_expected(self) -> bool:
        """Whether the request can have faces: detected ones, or face warps."""
        return self.image_type == FACE_WARP or (self.image_type == RAW_IMAGE and self.detect_face)

    @property
    def detects_bodies(self) -> bool:
        """Whether bodies are looked for in the images."""
        return self.detect_body and self.image_type == RAW_IMAGE

    @property
    def bodies_expected(self) -> bool:
        """Whether the request can have bodies: detected ones, or body warps."""
        return self.detects_bodies or self.image_type == BODY_WARP

    def steps(self) -> list[Estimation]:
        """Every estimation to run, needs first, in table order; body estimations only
        where there can be bodies (LUNA estimates what the images have)."""
        names = set(self.estimations)
        if self.angle_thresholds:
            names.add("head_pose")
        if self.score_threshold > 0:
            names.add("descriptor")
        return [s for s in with_needs(names) if self.bodies_expected or not s.on_body]

    def with_wants(self, available: Callable[[str], bool]) -> Plan:
        """The plan with the estimations its estimations want added, where their estimator
        is configured."""
        wanted = {
            name for step in self.steps() for name in step.wants if available(BY_NAME[name].task)
        }
        if wanted <= self.estimations:
            return self
        return replace(self, estimations=self.estimations | wanted)

    def stage(self, stage: Stage) -> list[Estimation]:
        """The estimations of one policy step."""
        return [step for step in self.steps() if step.stage is stage]

    @property
    def needs_warps(self) -> bool:
        """Whether faces must be warped."""
        return self.keep_warps or any(s.input is Input.WARP for s in self.steps())

    def tasks(self) -> list[str]:
        """The estimators this plan uses, detector first."""
        tasks = [FACE_DETECTOR] if self.detect_face and self.image_type == RAW_IMAGE else []
        tasks += [BODY_DETECTOR] if self.detects_bodies else []
        return list(dict.fromkeys([*tasks, *(step.task for step in self.steps())]))

    def check(self, available: Callable[[str], bool]) -> None:
        """Refuse, before any work, a plan that needs what this deployment lacks."""
        if self.strict_warps and self.warped:
            on_image = [s for s in self.steps() if s.input in (Input.IMAGE_BOX, Input.LANDMARKS68)]
            if on_image or self.angle_thresholds:
                names = [s.name for s in on_image] or ["angle thresholds"]
                raise LunaError(BAD_QUERY, f"{', '.join(names)}: not supported with warped images")
        for task in self.tasks():
            if not available(task):
                raise LunaError(ESTIMATOR_DISABLED, f"estimator '{task}' is not available")


def query_plan(flags: Mapping[str, Any], **options: Any) -> Plan:
    """A plan from a query's flags (every flag of the table that the query sets)."""
    return Plan(estimations=frozenset(from_flags(flags)), **options)


def policy_plan(detect_policy: Any, extract_policy: Any, **options: Any) -> Plan:
    """A plan from a handler's or verifier's detect and extract policies."""
    names = from_policy(Stage.DETECT, detect_policy)
    names |= from_policy(Stage.EXTRACT, extract_policy)
    thresholds = {
        angle: float(value)
        for angle in ("pitch", "roll", "yaw")
        if (value := getattr(detect_policy, f"{angle}_threshold", None)) is not None
    }
    return Plan(
        multiface_policy=detect_policy.multiface_policy,
        detect_face=bool(getattr(detect_policy, "detect_face", 1)),
        detect_body=bool(getattr(detect_policy, "detect_body", 0)),
        extract_exif=bool(detect_policy.extract_exif),
        estimations=frozenset(names),
        angle_thresholds=thresholds,
        states=state_filters(detect_policy),
        face_quality=getattr(detect_policy, "face_quality", None),
        score_threshold=float(extract_policy.fd_score_threshold),
        **options,
    )


def policy_tasks(policies: Any) -> list[str]:
    """Every estimator a handler's policies need: its detect and extract estimations, the
    descriptor for matching, and the estimations its filters read."""
    tasks = policy_plan(policies.detect_policy, policies.extract_policy).tasks()
    if policies.match_policy:
        tasks.append("face_descriptor")
    for filters in _all_filters(policies):
        tasks.extend(filter_tasks(filters))
    return list(dict.fromkeys(tasks))


def check_policies(policies: Any, available: Callable[[str], bool]) -> None:
    """Refuse policies that need an estimator this deployment lacks (LUNA's licence error),
    when the handler is created or validated rather than when it first runs."""
    for task in policy_tasks(policies):
        if not available(task):
            raise LunaError(ESTIMATOR_DISABLED, f"estimator '{task}' is not available")


def _all_filters(policies: Any) -> list[Any]:
    storage = getattr(policies, "storage_policy", None)
    steps = [getattr(storage, name) for name in type(storage).model_fields] if storage else []
    found = [step.filters for step in steps]
    face_policy = getattr(storage, "face_policy", None)
    found += [link.filters for link in getattr(face_policy, "link_to_lists_policy", [])]
    found += [m.filters for m in getattr(policies, "match_policy", [])]
    found += [t.filters for t in getattr(policies, "conditional_tags_policy", [])]
    return found

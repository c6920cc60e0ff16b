"""ISO/IEC 19794-5 checks of one face, from what the estimators measured: a pure function.

LUNA's ``/iso`` resource (and the ``face_quality`` checks of a detect policy) answers, for
each face, a list of checks ``{name, object_value, threshold_value: {min, max}, result}``
and a verdict that is 1 only when every check passed. :func:`iso_checks` builds them from
the measurements of one face; it runs no model.

Where the standard gives a number (pose, eye distance, where the eyes sit in the frame, the
head's width) the threshold is the standard's, for its Full Frontal image type; where it
only asks for a quality in words (in focus, evenly lit, no hot spots, plain light background,
neutral expression) the threshold is said next to it, with the measure's own scale. Each
threshold's origin is written beside it in ``THRESHOLDS``. ``max`` (or ``min``) is None
where the standard sets no bound on that side.

Checks whose estimator did not run (eyes, mouth, glasses, mask, gaze are optional; so are the
head pose, quality and background) are not reported as passed or failed: they are left out of
``checks`` and named in ``unavailable``, so a client can tell a partial pass from a full one.
The ``verdict`` is 1 when every check made passed; with a non-empty ``unavailable`` it says
nothing about the checks that were not made.

Categorical states are reported as numbers so that every check has one shape; the codes are
LUNA SDK's (lunavl) enums:

* ``left_eye`` / ``right_eye``: 1 open, 2 occluded, 3 closed (open passes);
* ``glasses``: 1 none, 2 clear eyeglasses, 3 sunglasses (1-2 pass: ISO/IEC 19794-5 allows clear
  glasses, not tinted ones). A glasses estimator that does not tell the kind
  (``"glasses"``) counts as 3: the project's glasses model finds dark glasses and misses clear
  ones (models/face/glasses.py);
* ``mask``: 1 missing, 2 medical mask, 3 occluded (only 1 passes: the face must be
  unobscured). Not one of LUNA's check names; reported when a mask estimator ran.

The optional inputs are taken as the project's result dataclasses (``EyesState``,
``MouthState``, ``GlassesState``, ``GazeDirection``) or as LUNA-shaped mappings with the same
field names (``{"left_eye": {"state": "open"}, ...}``, ``{"opened", "smile", "occluded"}``,
``{"state" or "glasses": "no_glasses"}``, ``{"predominant_mask": "missing"}``,
``{"yaw", "pitch"}``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.base import Adapter

# name -> (min, max); None where no bound applies. The comment above each says its origin.
THRESHOLDS: dict[str, tuple[float | None, float | None]] = {
    # ISO/IEC 19794-5 Full Frontal pose: yaw and pitch within 5 degrees of frontal, roll
    # within 8 (LUNA's own /iso example answers head_roll with min -8, max 8).
    "head_yaw": (-5.0, 5.0),
    "head_pitch": (-5.0, 5.0),
    "head_roll": (-8.0, 8.0),
    # ISO/IEC 19794-5 (expression): eyes looking at the camera; no number, so the pose
    # tolerance.
    "gaze_yaw": (-5.0, 5.0),
    "gaze_pitch": (-5.0, 5.0),
    # ISO/IEC 19794-5 (expression): neutral expression, mouth closed, not smiling. The estimators
    # give probabilities; 0.5 is their decision boundary.
    "mouth_smiling": (0.0, 0.5),
    "mouth_occluded": (0.0, 0.5),
    "mouth_open": (0.0, 0.5),
    # ISO/IEC 19794-5 (expression): both eyes open (code 1, see the module docstring).
    "left_eye": (1, 1),
    "right_eye": (1, 1),
    # ISO/IEC 19794-5 / ICAO 9303: at least 90 px between the eye centres (120 preferred).
    "eye_distance": (90.0, None),
    # ISO/IEC 19794-5 (eye glasses): clear glasses only (codes 1-2).
    "glasses": (1, 2),
    # ISO/IEC 19794-5: the face unobscured (code 1, no mask).
    "mask": (1, 1),
    # ISO/IEC 19794-5 Full Frontal image geometry: the midpoint M of the eye centres between
    # 45 % and 55 % of the image width, and between 30 % and 50 % of its height from the top
    # (50-70 % from the bottom); the head 50-75 % of the image width (image width : head
    # width from 4:3 to 2:1). The head's width is taken as the face box's (cheek to cheek,
    # a little narrower than the head with ears and hair).
    "head_horizontal_center": (0.45, 0.55),
    "head_vertical_center": (0.30, 0.50),
    "head_width": (0.50, 0.75),
    # ISO/IEC 19794-5 asks for a face in focus, neither under- nor over-exposed, evenly lit
    # and without hot spots, without numbers. Our quality values (0-1, 1 good,
    # models/face/image_quality.py) pass at their mid-points: a Laplacian variance of 60 for
    # blur; mean luminance about 65 (dark) and 210 (light); the lower face's darker half at
    # least half as bright as the other; at most 2.5 % specular highlight pixels.
    "blurriness_quality": (0.5, 1.0),
    "dark_quality": (0.5, 1.0),
    "light_quality": (0.5, 1.0),
    "illumination_quality": (0.5, 1.0),
    "specularity_quality": (0.5, 1.0),
    # ISO/IEC 19794-5 and ICAO 9303: a plain, uniform, light background. Lightness is the
    # background's mean CIE L* / 100, LUNA's 0-1 background_lightness scale, which LUNA
    # documents as 0-0.1 black, 0.1-0.3 dark, 0.3-0.97 light, 0.97-1 white: the light band
    # passes. Uniformity is 12 / (12 + std of L*) on LUNA's 0-1 scale (1 uniform): 0.5 at a
    # standard deviation of 12 L*, between the plain studio backdrops (5-10 L*, 0.55-0.7) and
    # the office and press photos (15-23 L*, 0.35-0.45) measured on the test photos
    # (models/face/background.py).
    "background_lightness": (0.30, 0.97),
    "background_uniformity": (0.5, 1.0),
}
UNIFORMITY_HALF_POINT = 12.0

# The order checks are reported in (LUNA's list order, then ours).
CHECK_ORDER = tuple(THRESHOLDS)

_EYE_CODES = {"open": 1, "opened": 1, "occluded": 2, "closed": 3}
_GLASSES_CODES = {"no_glasses": 1, "none": 1, "eyeglasses": 2, "sunglasses": 3, "glasses": 3}
_MASK_CODES = {"missing": 1, "medical_mask": 2, "occluded": 3}


@dataclass(frozen=True)
class IsoCheck:
    """One check: the measured value, its allowed range and whether it passed."""

    name: str
    object_value: float
    threshold_min: float | None
    threshold_max: float | None
    result: int

    def as_dict(self) -> dict[str, Any]:
        """LUNA's JSON form: ``{name, object_value, threshold_value: {min, max}, result}``."""
        return {
            "name": self.name,
            "object_value": self.object_value,
            "threshold_value": {"min": self.threshold_min, "max": self.threshold_max},
            "result": self.result,
        }


@dataclass(frozen=True)
class IsoResult:
    """The checks made, the verdict over them, and the checks that could not be made."""

    checks: list[IsoCheck]
    verdict: int
    unavailable: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """``{checks: [...], verdict, unavailable: [...]}``."""
        return {
            "checks": [c.as_dict() for c in self.checks],
            "verdict": self.verdict,
            "unavailable": list(self.unavailable),
        }


def _get(obj: Any, name: str) -> Any:
    """A field of a result dataclass or a key of a LUNA-shaped mapping; None when absent."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _code(value: Any, codes: dict[str, int], what: str) -> int:
    if isinstance(value, str):
        if value not in codes:
            raise ValueError(f"unknown {what} state {value!r}; known: {sorted(codes)}")
        return codes[value]
    return int(value)


def _check(name: str, value: float) -> IsoCheck:
    low, high = THRESHOLDS[name]
    passed = (low is None or value >= low) and (high is None or value <= high)
    return IsoCheck(name, float(value), low, high, int(passed))


def iso_checks(
    *,
    image_size: tuple[int, int],
    box: Sequence[float],
    landmarks5: np.ndarray,
    head_pose: Any = None,
    quality: Any = None,
    background: Any = None,
    eyes: Any = None,
    mouth: Any = None,
    glasses: Any = None,
    mask: Any = None,
    gaze: Any = None,
) -> IsoResult:
    """ISO/IEC 19794-5 checks of one face.

    ``image_size`` is (width, height) of the image the face is in; ``box`` its (x1, y1, x2,
    y2) face box and ``landmarks5`` its five points (eyes first, as seen in the image), in
    that image's pixels. ``head_pose`` has pitch, yaw, roll in degrees; ``quality`` the
    image quality values (blurriness, dark, light, illumination, specularity, 0-1);
    ``background`` the background's ``uniformity`` (std of L*) and ``lightness`` (mean L*).
    Any of those and the optional estimators may be None: their checks are then listed in
    ``unavailable``.
    """
    width, height = image_size
    points = np.asarray(landmarks5, dtype=np.float64)
    values: dict[str, float | None] = dict.fromkeys(CHECK_ORDER)

    values["head_yaw"] = _get(head_pose, "yaw")
    values["head_pitch"] = _get(head_pose, "pitch")
    values["head_roll"] = _get(head_pose, "roll")
    values["gaze_yaw"] = _get(gaze, "yaw")
    values["gaze_pitch"] = _get(gaze, "pitch")
    values["mouth_smiling"] = _get(mouth, "smile")
    values["mouth_occluded"] = _get(mouth, "occluded")
    values["mouth_open"] = _get(mouth, "opened")
    for side in ("left_eye", "right_eye"):
        state = _get(_get(eyes, side), "state")
        values[side] = None if state is None else _code(state, _EYE_CODES, "eye")

    left_eye, right_eye = points[0], points[1]
    values["eye_distance"] = float(np.linalg.norm(right_eye - left_eye))
    middle = (left_eye + right_eye) / 2
    values["head_horizontal_center"] = float(middle[0] / width)
    values["head_vertical_center"] = float(middle[1] / height)
    values["head_width"] = float((float(box[2]) - float(box[0])) / width)

    if glasses is not None:
        state = glasses if isinstance(glasses, str) else _get(glasses, "state")
        if state is None:
            state = _get(glasses, "glasses")
        values["glasses"] = None if state is None else _code(state, _GLASSES_CODES, "glasses")
    if mask is not None:
        state = mask if isinstance(mask, str) else _get(mask, "predominant_mask")
        values["mask"] = None if state is None else _code(state, _MASK_CODES, "mask")

    for name in ("blurriness", "dark", "light", "illumination", "specularity"):
        values[f"{name}_quality"] = _get(quality, name)

    spread = _get(background, "uniformity")
    lightness = _get(background, "lightness")
    if spread is not None:
        values["background_uniformity"] = UNIFORMITY_HALF_POINT / (UNIFORMITY_HALF_POINT + spread)
    if lightness is not None:
        values["background_lightness"] = lightness / 100.0

    checks = [_check(name, value) for name, value in values.items() if value is not None]
    unavailable = [name for name, value in values.items() if value is None]
    verdict = int(all(c.result for c in checks))
    return IsoResult(checks=checks, verdict=verdict, unavailable=unavailable)


class IsoEstimator(Adapter):
    """:func:`iso_checks` as the ``face_quality`` estimator: each item is the measurements of
    one face (``image_size``, ``box``, ``landmarks5`` and whichever estimations were made,
    by their names: ``head_pose``, ``quality``, ``background``, ``eyes``, ``mouth``,
    ``glasses``, ``mask``, ``gaze``). Microseconds of arithmetic: it runs where the face is."""

    task = "face_quality"
    family = "classical"
    in_ingress = True

    def infer(self, prepared: Sequence[Mapping[str, Any]]) -> list[IsoResult]:
        """The checks of each face."""
        return [
            iso_checks(
                image_size=item["image_size"],
                box=item["box"],
                landmarks5=item["landmarks5"],
                **{name: item.get(name) for name in _MEASURED},
            )
            for item in prepared
        ]


_MEASURED = ("head_pose", "quality", "background", "eyes", "mouth", "glasses", "mask", "gaze")

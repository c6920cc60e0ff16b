"""A detect policy's ``face_quality``: which ISO checks count, with which thresholds, and
whether faces that fail them are filtered.

The checks themselves are made by the ``face_quality`` estimation (models/face/iso.py) with
the thresholds of ISO/IEC 19794-5; a policy may name the checks it wants (``estimate: 1``) and
give a check its own ``threshold`` (``min``/``max``). The face's ``status`` is then recomputed
over the checks kept, and with ``filter: 1`` a face whose status is 0 moves to ``filtered``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from models.face.iso import IsoCheck, IsoResult
from serve_app.pipeline.faces import FilterReason, ImageResult

FACE_QUALITY = "face_quality"


def apply_face_quality(results: Sequence[ImageResult], policy: Any) -> None:
    """Apply a detect policy's ``face_quality`` to the checks made on every face."""
    if policy is None or not policy.estimate:
        return
    chosen = {name: check.threshold for name, check in policy.checks if check.estimate}
    for result in results:
        for face in result.live_faces:
            value = face.estimations.get(FACE_QUALITY)
            if value is None:
                continue
            value = select(value, chosen)
            face.estimations[FACE_QUALITY] = value
            if policy.filter and not value.verdict:
                # The face's status (0) against the one required; the checks say which failed.
                face.filter_reasons.append(FilterReason(FACE_QUALITY, value.verdict, 1))
        if policy.filter:
            result.move_filtered()


def select(value: IsoResult, chosen: dict[str, Any]) -> IsoResult:
    """The checks ``chosen`` names (all when it names none), each judged against the
    policy's threshold where it gives one; the status over those."""
    if not chosen:
        return value
    checks = [_judge(c, chosen[c.name]) for c in value.checks if c.name in chosen]
    made = {c.name for c in value.checks}
    unavailable = [name for name in chosen if name not in made]
    return IsoResult(checks, int(all(c.result for c in checks)), unavailable)


def _judge(check: IsoCheck, threshold: Any) -> IsoCheck:
    low = threshold.min if threshold.min is not None else check.threshold_min
    high = threshold.max if threshold.max is not None else check.threshold_max
    passed = (low is None or check.object_value >= low) and (
        high is None or check.object_value <= high
    )
    return replace(check, threshold_min=low, threshold_max=high, result=int(passed))

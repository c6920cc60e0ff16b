"""Running declared estimations on the faces of a request.

Each estimation sends the faces of all images of the request to its estimator in one call,
so that the estimator batches them (and, deployed, batches them with other requests').
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from models.face.face_align import WARP_TEMPLATE
from serve_app.estimations import Estimation, Input
from serve_app.estimators import Estimators
from serve_app.pipeline.faces import Body, Face, ImageResult


async def estimate(
    estimators: Estimators, results: Sequence[ImageResult], steps: Sequence[Estimation]
) -> None:
    """Fill each face's and body's estimations with ``steps``: steps on the source image in
    order (a step may need the one before), steps on warps all at once, then steps that read
    what the others found, in order. Steps of one estimator on the same input (upper and
    lower body from one clothing estimator) share one run."""
    for group in _groups([s for s in steps if not s.after_warps]):
        await _run(estimators, results, group)
    on_warps = [s for s in steps if s.input in (Input.WARP, Input.BODY_WARP)]
    await asyncio.gather(*(_run(estimators, results, group) for group in _groups(on_warps)))
    for group in _groups([s for s in steps if s.input is Input.FACE]):
        await _run(estimators, results, group)


def _groups(steps: Sequence[Estimation]) -> list[list[Estimation]]:
    groups: dict[tuple[str, Input], list[Estimation]] = {}
    for step in steps:
        groups.setdefault((step.task, step.input), []).append(step)
    return list(groups.values())


async def _run(
    estimators: Estimators, results: Sequence[ImageResult], group: Sequence[Estimation]
) -> None:
    first = group[0]
    pairs = [
        (subject, item)
        for result in results
        for subject in (result.live_bodies if first.on_body else result.live_faces)
        if (item := _input(first, result, subject)) is not None
    ]
    if not pairs:
        estimators.require(first.task)
        return
    values = await estimators.run(first.task, [item for _, item in pairs])
    for (subject, _), value in zip(pairs, values, strict=True):
        for step in group:
            subject.estimations[step.name] = step.convert(value) if step.convert else value


def _input(step: Estimation, result: ImageResult, subject: Face | Body) -> Any:
    """What ``step`` takes from one face or body, or None where it cannot run (e.g. no source
    image around a face warp)."""
    if step.input is Input.IMAGE_BOX:
        return None if result.warped or result.image is None else (result.image, subject.box)
    if step.input is Input.BODY_IMAGE_BOX:
        return None if result.image is None else (result.image, subject.box)
    if step.input is Input.LANDMARKS68:
        return getattr(subject, "landmarks68", None)
    if step.input in (Input.WARP, Input.BODY_WARP):
        return subject.warp
    if step.input is Input.FACE:
        return _measurements(result, subject)
    return None


def _measurements(result: ImageResult, face: Face) -> dict[str, Any]:
    """What was found of one face so far: its image's size, box, five points (a face warp's
    are the warp template's) and the value of every estimation made, by name."""
    assert result.image is not None
    height, width = result.image.shape[:2]
    points = face.landmarks5 if face.landmarks5 is not None else WARP_TEMPLATE[:5]
    return {
        "image_size": (width, height),
        "box": face.box,
        "landmarks5": points,
        **face.estimations,
    }

"""Running declared estimations on the faces of a request.

Each estimation sends the faces of all images of the request to its estimator in one call,
so that the estimator batches them (and, deployed, batches them with other requests').
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from serve_app.estimations import Estimation, Input
from serve_app.estimators import Estimators
from serve_app.pipeline.faces import Face, ImageResult


async def estimate(
    estimators: Estimators, results: Sequence[ImageResult], steps: Sequence[Estimation]
) -> None:
    """Fill each face's estimations with ``steps``: steps on the source image in order (a
    step may need the one before), steps on warps all at once, then steps that read what
    the others found, in order."""
    for step in steps:
        if not step.after_warps:
            await _run(estimators, results, step)
    await asyncio.gather(
        *(_run(estimators, results, step) for step in steps if step.input is Input.WARP)
    )
    for step in steps:
        if step.input is Input.FACE:
            await _run(estimators, results, step)


async def _run(estimators: Estimators, results: Sequence[ImageResult], step: Estimation) -> None:
    pairs = [
        (face, item)
        for result in results
        for face in result.live_faces
        if (item := _input(step, result, face)) is not None
    ]
    if not pairs:
        estimators.require(step.task)
        return
    values = await estimators.run(step.task, [item for _, item in pairs])
    for (face, _), value in zip(pairs, values, strict=True):
        face.estimations[step.name] = step.convert(value) if step.convert else value


def _input(step: Estimation, result: ImageResult, face: Face) -> Any:
    """What ``step`` takes from one face, or None where it cannot run (e.g. no source image
    around a face warp)."""
    if step.input is Input.IMAGE_BOX:
        return None if result.warped or result.image is None else (result.image, face.box)
    if step.input is Input.LANDMARKS68:
        return face.landmarks68
    if step.input is Input.WARP:
        return face.warp
    if step.input is Input.FACE:
        return face
    return None

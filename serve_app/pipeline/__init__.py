"""The policy steps every route that analyses images runs, named after LUNA's: ``detect``,
``extract``, ``match``, ``store``, ``tags``. A :class:`~serve_app.pipeline.plan.Plan` says
what each step does; routes build one from their query or a handler's policies."""

from __future__ import annotations

from collections.abc import Sequence

from serve_app.estimators import Estimators
from serve_app.http.images import ImageLimits
from serve_app.http.inputs import ImageInput
from serve_app.pipeline import aggregation
from serve_app.pipeline.detect import detect
from serve_app.pipeline.extract import extract
from serve_app.pipeline.faces import ImageResult
from serve_app.pipeline.plan import Plan


async def analyse(
    estimators: Estimators, limits: ImageLimits, inputs: Sequence[ImageInput], plan: Plan
) -> list[ImageResult]:
    """Detect and extract: one result per input, each image failing alone."""
    plan = plan.with_wants(estimators.available)
    results = await detect(estimators, limits, inputs, plan)
    if plan.aggregate and plan.multiface_policy != 2:
        aggregation.single_faces(results)
    await extract(estimators, results, plan)
    return results

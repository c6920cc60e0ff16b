"""The extract step: descriptors and basic attributes of the faces (LUNA's extract policy),
the descriptor score filter, and aggregation of several samples into one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from models.face.age_gender import AgeGender
from models.face.arcface import Descriptor
from serve_app.estimations import Stage, aggregation
from serve_app.estimators import Estimators
from serve_app.pipeline.estimate import estimate
from serve_app.pipeline.faces import Face, FilterReason, ImageResult
from serve_app.pipeline.plan import Plan


@dataclass
class Extracted:
    """What one group of samples gave: its descriptor and attributes (each optional)."""

    samples: list[str]
    descriptor: Descriptor | None = None
    basic_attributes: AgeGender | None = None


async def extract(estimators: Estimators, results: Sequence[ImageResult], plan: Plan) -> None:
    """Estimate the extract step's attributes on every face warp; faces whose descriptor
    scores below the plan's threshold move to ``filtered``."""
    await estimate(estimators, results, plan.stage(Stage.EXTRACT))
    if plan.score_threshold > 0:
        for result in results:
            for face in result.live_faces:
                if face.descriptor is not None and face.descriptor.score < plan.score_threshold:
                    face.filter_reasons.append(
                        FilterReason("score_threshold", face.descriptor.score, plan.score_threshold)
                    )
            result.move_filtered()


def aggregate(faces: Sequence[Face]) -> tuple[Descriptor | None, AgeGender | None]:
    """One descriptor and one set of basic attributes standing for all ``faces``."""
    return (
        aggregation.aggregate_descriptors([f.descriptor for f in faces if f.descriptor]),
        aggregation.aggregate_basic_attributes(
            [f.basic_attributes for f in faces if f.basic_attributes]
        ),
    )

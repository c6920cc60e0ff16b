"""How several faces' values of one estimation make one, as LUNA does with
``aggregate_attributes=1``: descriptors are averaged and re-normalised (the mean of unit
vectors of one identity lies closer to that identity than most single samples), their
scores averaged; age, gender and class probabilities are averaged."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from models.face.age_gender import AgeGender
from models.face.arcface import Descriptor


def aggregate_descriptors(descriptors: Sequence[Descriptor]) -> Descriptor | None:
    """One descriptor standing for all; None when there are none."""
    if not descriptors:
        return None
    versions = {d.version for d in descriptors}
    if len(versions) > 1:
        raise ValueError(f"cannot aggregate descriptors of versions {sorted(versions)}")
    mean = np.mean([d.vector for d in descriptors], axis=0)
    vector = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
    score = float(np.mean([d.score for d in descriptors]))
    return Descriptor(vector, score, versions.pop())


def aggregate_basic_attributes(values: Sequence[AgeGender]) -> AgeGender | None:
    """Mean age and mean gender; None when there are none."""
    if not values:
        return None
    return AgeGender(
        age=float(np.mean([v.age for v in values])),
        gender=float(np.mean([v.gender for v in values])),
    )


def mean_estimations(values: Sequence[Any]) -> Any:
    """Class probabilities averaged class by class, as a result of the same type; the values
    are results whose ``estimations()`` keys are their fields (emotions, mask states). None
    when there are none."""
    if not values:
        return None
    names = values[0].estimations()
    return type(values[0])(
        **{name: float(np.mean([v.estimations()[name] for v in values])) for name in names}
    )

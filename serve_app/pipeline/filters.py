"""Whether an event passes a policy's ``filters``: the gate of every storage step, of each
list link, of match policies and of conditional tags.

All filters given must hold. A filter on an estimation the event lacks does not hold (an
event without age is not "at least 18"), as a face with an unknown value must not be stored
or tagged as if it had passed.
"""

from __future__ import annotations

from typing import Any, Protocol

from models.face.age_gender import AgeGender
from serve_app.estimations import FACE_ESTIMATIONS
from serve_app.policies import Filters


class Filterable(Protocol):
    """What filters read: an event, or a verifier's face (which has no matches)."""

    basic_attributes: AgeGender | None

    def best_similarity(self, label: str) -> float | None:
        """The best similarity under match ``label``; None without candidates."""

    def estimation(self, name: str) -> Any:
        """Its value of estimation ``name``; None where it was not estimated."""


def passes(filters: Filters, event: Filterable) -> bool:
    """Whether ``event`` meets every condition of ``filters``."""
    attributes = event.basic_attributes
    if filters.age__gte is not None or filters.age__lt is not None or filters.gender is not None:
        if attributes is None:
            return False
        age, gender = round(attributes.age), round(attributes.gender)
        if filters.age__gte is not None and age < filters.age__gte:
            return False
        if filters.age__lt is not None and age >= filters.age__lt:
            return False
        if filters.gender is not None and gender != filters.gender:
            return False
    for condition in filters.match or []:
        best = event.best_similarity(condition.label)
        if best is None:
            return False
        if condition.similarity__gte is not None and best < condition.similarity__gte:
            return False
        if condition.similarity__lte is not None and best > condition.similarity__lte:
            return False
    # State filters (mask, liveness, ...) of the estimations that declare one. Those whose
    # estimator this deployment lacks refuse the handler when it is created.
    for declared in FACE_ESTIMATIONS:
        wanted = getattr(filters, declared.filter_key, None) if declared.filter_key else None
        if not wanted or declared.state is None:
            continue
        value = event.estimation(declared.name)
        if value is None or declared.state(value) not in wanted:
            return False
    return True

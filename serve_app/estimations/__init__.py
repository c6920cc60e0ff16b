"""What this service estimates: one declaration per estimation (:mod:`.face`), and what
the rest of the service reads from the declarations.

From the table come the estimations a query's flags or a handler's policies ask for, the
order they run in (needs first), the estimators a request or a handler needs (so that a
missing one answers LUNA's licence error naming it), presenters, response schemas, filters
and aggregation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from serve_app.estimations.body import BODY_ESTIMATIONS
from serve_app.estimations.declaration import Estimation, Input, Place, Stage
from serve_app.estimations.face import FACE_ESTIMATIONS

__all__ = [
    "BODY_ESTIMATIONS",
    "BY_NAME",
    "ESTIMATIONS",
    "FACE_ESTIMATIONS",
    "Estimation",
    "Input",
    "Place",
    "Stage",
    "filter_tasks",
    "from_flags",
    "from_policy",
    "state_filters",
    "with_needs",
]

#: Every estimation, faces' first; the order estimations run in (needs first).
ESTIMATIONS: tuple[Estimation, ...] = FACE_ESTIMATIONS + BODY_ESTIMATIONS
BY_NAME: dict[str, Estimation] = {e.name: e for e in ESTIMATIONS}


def from_flags(flags: Mapping[str, Any]) -> set[str]:
    """The estimations a query's flags ask for (a flag set to anything but 0/None/empty)."""
    return {e.name for e in ESTIMATIONS if any(flags.get(f) for f in e.query_flags)}


def from_policy(stage: Stage, policy: Any) -> set[str]:
    """The estimations a detect or extract policy asks for."""
    return {
        e.name
        for e in ESTIMATIONS
        if e.stage is stage and e.policy_flag and _lookup(policy, e.policy_flag)
    }


def filter_tasks(filters: Any) -> list[str]:
    """The estimators that policy ``filters`` read (e.g. a mask filter needs the mask
    estimator), in table order."""
    return [
        e.task for e in FACE_ESTIMATIONS if e.filter_key and getattr(filters, e.filter_key, None)
    ]


def state_filters(source: Any) -> dict[str, frozenset[int]]:
    """The states each estimation with states must be in, by estimation name, from a query
    or a detect policy's ``<filter_key>_states`` (e.g. ``mask_states``): a list, or the
    query's comma-separated numbers."""
    found: dict[str, frozenset[int]] = {}
    for e in ESTIMATIONS:
        if e.state is None or not e.filter_key:
            continue
        value = getattr(source, f"{e.filter_key}_states", None)
        if isinstance(value, str):
            value = [int(v) for v in value.split(",") if v.strip()]
        if value:
            found[e.name] = frozenset(int(v) for v in value)
    return found


def _lookup(policy: Any, path: str) -> Any:
    value = policy
    for part in path.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def with_needs(names: Iterable[str]) -> list[Estimation]:
    """The estimations ``names`` and everything they need, in table order (needs first)."""
    wanted: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name not in wanted:
            wanted.add(name)
            pending.extend(BY_NAME[name].needs)
    return [e for e in ESTIMATIONS if e.name in wanted]

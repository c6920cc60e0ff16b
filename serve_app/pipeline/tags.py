"""The tags step: LUNA's conditional tags policy."""

from __future__ import annotations

from collections.abc import Sequence

from serve_app.pipeline.events import EventRecord
from serve_app.pipeline.filters import passes
from serve_app.policies import Policies


def apply_tags(policies: Policies, events: Sequence[EventRecord]) -> None:
    """Give each event the request's tags, then every conditional tag whose filters it
    passes (each tag once, in policy order)."""
    for event in events:
        conditional = [
            rule.tag for rule in policies.conditional_tags_policy if passes(rule.filters, event)
        ]
        event.tags = list(dict.fromkeys([*event.meta.tags, *conditional]))

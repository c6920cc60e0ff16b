"""Running a handler's policies on one request: LUNA's steps in LUNA's order.

detect -> extract -> events (one per face, or one for all with aggregation) -> match ->
conditional tags -> store (samples, source image, attribute, face and its lists, the event
and its notification). Tags are settled before the store step so that the stored and
notified event carries them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from models.face.arcface import Descriptor
from serve_app.http.inputs import ImageInput
from serve_app.pipeline import analyse
from serve_app.pipeline.events import (
    EventMeta,
    EventRecord,
    Renderer,
    build_events,
    descriptor_event,
)
from serve_app.pipeline.faces import ImageResult
from serve_app.pipeline.match import match
from serve_app.pipeline.plan import RAW_IMAGE, policy_plan
from serve_app.pipeline.store import store_events
from serve_app.pipeline.tags import apply_tags
from serve_app.policies import Policies
from serve_app.services import Services


@dataclass
class HandlerRun:
    """What one request to a handler produced."""

    events: list[EventRecord]
    results: list[ImageResult]


async def run_handler(
    services: Services,
    policies: Policies,
    meta: EventMeta,
    render: Renderer,
    inputs: Sequence[ImageInput] = (),
    descriptors: Sequence[Descriptor] = (),
    image_type: int = RAW_IMAGE,
    use_exif: bool = True,
    aggregate: bool = False,
) -> HandlerRun:
    """Events from images (or from descriptors sent instead of images)."""
    storage_policy = policies.storage_policy
    plan = policy_plan(
        policies.detect_policy,
        policies.extract_policy,
        image_type=image_type,
        use_exif=use_exif,
        aggregate=aggregate,
        keep_warps=bool(storage_policy.face_sample_policy.store_sample),
    )
    results: list[ImageResult] = []
    if inputs:
        limits = services.settings.limits.image_limits()
        results = await analyse(services.estimators, limits, inputs, plan)
        events = build_events(results, meta, aggregate)
    else:
        events = [descriptor_event(d, meta) for d in descriptors]
    storage = await services.storage.ready()
    if policies.match_policy:
        matcher = await services.matcher()
        await match(services.estimators, matcher, storage, policies.match_policy, events)
    apply_tags(policies, events)
    created = await store_events(storage, services.event_writer, storage_policy, events, render)
    # Read-your-writes: the next request must be able to match the faces just made.
    await services.faces_changed(meta.account_id, created)
    return HandlerRun(events, results)

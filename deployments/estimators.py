"""One Ray Serve deployment per model estimator, each a thin batched wrapper of its adapter.

The ingress prepares each item (letterbox, crop, chip) where the pixels already are, and
sends a request's items in a few calls (a list each, e.g. all the faces of an image);
``@serve.batch`` groups the calls of all concurrent requests into one model run. Batch size
(in calls) and wait come from the deployment's ``user_config``; replicas, CPUs, GPUs and
``max_ongoing_requests`` from serve_config.yaml.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from ray import serve
from ray.serve.deployment import Deployment

from deployments.batching import DEFAULT_BATCH_WAIT_S, DEFAULT_MAX_BATCH_SIZE, configure_batching
from serve_app.estimators import (
    BASIC_ATTRIBUTES,
    FACE_DESCRIPTOR,
    FACE_DETECTOR,
    FACE_LANDMARKS,
    build_estimator,
)
from serve_app.settings import Settings

log = logging.getLogger("ray.serve")

# adapter, prepared items -> one result per item
BatchRunner = Callable[[Any, list[Any]], list[Any]]


def estimator_deployment(name: str, estimator: str, run: BatchRunner) -> Deployment:
    """A deployment called ``name`` that runs ``estimator``'s adapter in batches."""

    class Estimator:
        def __init__(self, settings: dict[str, Any]) -> None:
            self.adapter = build_estimator(Settings.from_args(settings), estimator)
            # Load now: a missing model or GPU fails the replica's start, not a request.
            self.adapter.load()
            log.info("%s runs %s", name, self._describe())

        def reconfigure(self, user_config: dict[str, Any]) -> None:
            """Batch size and wait from the deployment's user_config."""
            configure_batching(self.infer, user_config)

        @serve.batch(
            max_batch_size=DEFAULT_MAX_BATCH_SIZE, batch_wait_timeout_s=DEFAULT_BATCH_WAIT_S
        )
        async def infer(self, calls: list[list[Any]]) -> list[list[Any]]:
            """Results per call, one per item; the model sees the items of all calls at once.
            The thread keeps the replica's loop free to queue the next batch."""
            return await asyncio.to_thread(run_grouped, run, self.adapter, calls)

        async def info(self) -> dict[str, Any]:
            """The model files and execution providers this replica really uses."""
            return self._describe()

        def _describe(self) -> dict[str, Any]:
            sessions = [
                m
                for m in (
                    getattr(self.adapter, "model", None),
                    getattr(self.adapter, "gender_model", None),
                )
                if m
            ]
            return {
                "estimator": estimator,
                "models": [m.path.name for m in sessions],
                "providers": sorted({p for m in sessions for p in m.providers}),
            }

    Estimator.__name__ = Estimator.__qualname__ = name
    return serve.deployment(name=name, max_ongoing_requests=64)(Estimator)


def run_grouped(run: BatchRunner, adapter: Any, calls: list[list[Any]]) -> list[list[Any]]:
    """Run the items of all calls as one batch and hand each call its own results."""
    flat = [item for call in calls for item in call]
    results = run(adapter, flat) if flat else []
    grouped, start = [], 0
    for call in calls:
        grouped.append(results[start : start + len(call)])
        start += len(call)
    return grouped


FaceDetector = estimator_deployment(
    "FaceDetector", FACE_DETECTOR, lambda adapter, items: adapter.infer(items)
)
FaceLandmarks = estimator_deployment(
    "FaceLandmarks", FACE_LANDMARKS, lambda adapter, items: adapter.infer(items)
)
FaceDescriptor = estimator_deployment(
    "FaceDescriptor", FACE_DESCRIPTOR, lambda adapter, items: adapter.infer(items).items()
)
FaceBasicAttributes = estimator_deployment(
    "FaceBasicAttributes", BASIC_ATTRIBUTES, lambda adapter, items: adapter.infer(items)
)

# estimator name -> its deployment
DEPLOYMENTS: dict[str, Deployment] = {
    FACE_DETECTOR: FaceDetector,
    FACE_LANDMARKS: FaceLandmarks,
    FACE_DESCRIPTOR: FaceDescriptor,
    BASIC_ATTRIBUTES: FaceBasicAttributes,
}

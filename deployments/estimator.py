"""The Ray Serve deployment of one model estimator: a thin batched wrapper of its adapter.

One class serves every estimator; ``serve_app.ray_app`` binds it once per configured
estimator, named after the estimator's config key (``face_detector``, ``face_descriptor``, ...)
and given only that estimator's settings. The ingress prepares items where the pixels are
and sends a request's items in one call (a list, e.g. all the faces of a request);
``@serve.batch`` groups the calls of concurrent requests into one model run, counting items,
not calls, against ``max_batch_size``. Batch size and wait come from the deployment's
``user_config``; replicas, CPUs, GPUs and ``max_ongoing_requests`` from serve_config.yaml.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ray import serve
from ray.serve import Application

from deployments import metrics
from deployments.batching import (
    DEFAULT_BATCH_WAIT_S,
    DEFAULT_MAX_BATCH_SIZE,
    configure_batching,
    count_items,
)
from models.registry import build_adapter

log = logging.getLogger("ray.serve")


@serve.deployment(max_ongoing_requests=64)
class Estimator:
    """Runs one estimator's adapter on batches of prepared items."""

    def __init__(self, task: str, settings: dict[str, Any]) -> None:
        self.adapter = build_adapter(
            task, settings["config"], Path(settings["models_dir"]), settings.get("manifest")
        )
        # Load now: a missing model or GPU fails the replica's start, not a request.
        self.adapter.load()
        self.max_batch_size = DEFAULT_MAX_BATCH_SIZE
        log.info("%s runs %s", task, self.adapter.describe())

    def reconfigure(self, user_config: dict[str, Any]) -> None:
        """Batch size and wait from the deployment's user_config."""
        self.max_batch_size = configure_batching(self._infer_batch, user_config)

    async def infer(self, items: list[Any]) -> Answer:
        """One call's results, one per item, with the time the call waited in this replica
        for its batch to start (clock-safe: both ends are read here)."""
        arrived = time.perf_counter()
        answer = await self._infer_batch(items)
        return replace(answer, queue_s=max(0.0, answer.started - arrived))

    @serve.batch(
        max_batch_size=DEFAULT_MAX_BATCH_SIZE,
        batch_wait_timeout_s=DEFAULT_BATCH_WAIT_S,
        batch_size_fn=count_items,
    )
    async def _infer_batch(self, calls: list[list[Any]]) -> list[Answer]:
        """Results per call; the model sees the items of all calls at once. The thread
        keeps the replica's loop free to queue the next batch."""
        answers = await asyncio.to_thread(run_grouped, self.adapter.infer, calls)
        items, task = count_items(calls), self.adapter.task
        if answers:
            metrics.BATCH_ITEMS.observe(items, estimator=task)
            metrics.INFERENCE_SECONDS.observe(answers[0].model_s, estimator=task)
            metrics.ITEMS_INFERRED.inc(items, estimator=task)
        return answers

    async def info(self) -> dict[str, Any]:
        """What this replica runs, and the most items one call may carry."""
        return {**self.adapter.describe(), "max_batch_size": self.max_batch_size}


@dataclass(frozen=True)
class Answer:
    """One call's results, with the time the model took on the batch they were part of and
    the time the call queued in the replica before it: the caller reports both beside its
    own wait (Server-Timing), so what is left of the hop is transport."""

    results: list[Any]
    model_s: float
    started: float = 0.0  # the batch's start, perf_counter of the replica
    queue_s: float = 0.0


def run_grouped(infer: Any, calls: list[list[Any]]) -> list[Answer]:
    """Run the items of all calls as one batch and hand each call its own results."""
    flat = [item for call in calls for item in call]
    start_s = time.perf_counter()
    results = infer(flat) if flat else []
    model_s = time.perf_counter() - start_s
    grouped, start = [], 0
    for call in calls:
        grouped.append(Answer(results[start : start + len(call)], model_s, start_s))
        start += len(call)
    return grouped


def estimator_app(task: str, settings: dict[str, Any]) -> Application:
    """The deployment of estimator ``task``, named after it and bound to its own settings:
    ``{"config": <its estimators entry>, "models_dir": ..., "manifest": <extra entries>}``."""
    return Estimator.options(name=task).bind(task, settings)

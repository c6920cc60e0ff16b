"""The face detector as a Ray Serve deployment: batches prepared images across requests."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ray import serve

from deployments.batching import DEFAULT_BATCH_WAIT_S, DEFAULT_MAX_BATCH_SIZE, configure_batching
from models.scrfd import PreparedImage
from models.types import FaceDetection
from serve_app.estimators import FACE_DETECTOR, build_estimator
from serve_app.settings import Settings

log = logging.getLogger("ray.serve")


@serve.deployment(name="FaceDetector", max_ongoing_requests=64)
class FaceDetector:
    """Runs the configured face detector on images the ingress has already letterboxed."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.adapter = build_estimator(Settings.from_args(settings), FACE_DETECTOR)
        # Load now: a missing model or GPU fails the replica's start, not a user's request.
        self.adapter.model.load()
        log.info("FaceDetector uses %s", self.adapter.model.providers)

    def reconfigure(self, user_config: dict[str, Any]) -> None:
        """Batch size and wait come from the deployment's user_config in serve_config.yaml."""
        configure_batching(self.infer, user_config)

    @serve.batch(max_batch_size=DEFAULT_MAX_BATCH_SIZE, batch_wait_timeout_s=DEFAULT_BATCH_WAIT_S)
    async def infer(self, items: list[PreparedImage]) -> list[list[FaceDetection]]:
        """Detect faces in a batch; the thread keeps the replica's loop free to queue more."""
        return await asyncio.to_thread(self.adapter.infer, items)

    async def info(self) -> dict[str, Any]:
        """What this replica runs: model file and the execution providers really used."""
        return {"model": self.adapter.model.path.name, "providers": self.adapter.model.providers}

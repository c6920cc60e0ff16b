"""Estimators reached through Ray Serve DeploymentHandles.

The ingress letterboxes each image itself (cheap, and it already holds the pixels) and sends
the detector only the small canvases, one call per image, so that the detector deployment
batches images across all concurrent requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import numpy as np

from models.types import FaceDetection
from serve_app.estimators import FACE_DETECTOR, Estimators, build_estimator
from serve_app.settings import Settings

HEALTH_TIMEOUT_S = 10.0


class RayEstimators(Estimators):
    """Estimators as Ray Serve deployments."""

    def __init__(self, settings: Settings, handles: dict[str, Any]) -> None:
        super().__init__(settings)
        self.handles = handles
        # Adapters load their model lazily; here they only prepare inputs, never run.
        self._fronts = {name: build_estimator(settings, name) for name in handles}

    async def detect_faces(self, images: Sequence[np.ndarray]) -> list[list[FaceDetection]]:
        """One detector call per image; the deployment batches them."""
        self.require(FACE_DETECTOR)
        front = self._fronts[FACE_DETECTOR]
        handle = self.handles[FACE_DETECTOR]
        prepared = await asyncio.gather(*(asyncio.to_thread(front.prepare, im) for im in images))
        return list(await asyncio.gather(*(handle.infer.remote(item) for item in prepared)))

    async def health(self) -> dict[str, str | None]:
        """Ask every estimator deployment what it runs, with a timeout."""

        async def probe(handle: Any) -> str | None:
            try:
                await asyncio.wait_for(handle.info.remote(), HEALTH_TIMEOUT_S)
            except Exception as exc:  # a dead or stuck deployment, whatever the reason
                return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return None

        names = list(self.handles)
        problems = await asyncio.gather(*(probe(self.handles[name]) for name in names))
        return dict(zip(names, problems, strict=True))

    async def describe(self) -> dict[str, Any]:
        """Model and providers of each estimator deployment (one replica each)."""
        infos = await asyncio.gather(*(h.info.remote() for h in self.handles.values()))
        return dict(zip(self.handles, infos, strict=True))

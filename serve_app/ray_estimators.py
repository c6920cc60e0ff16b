"""Estimators reached through Ray Serve DeploymentHandles.

The ingress prepares each item itself (it already holds the pixels) and sends the
deployment only the small model inputs, a request's items in a few calls rather than one
call per face (a crowd photo would otherwise cost a Ray hop per face), so that each
deployment batches items across all concurrent requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import numpy as np

from models.age_gender import AgeGender
from models.arcface import Descriptor
from models.types import FaceDetection
from serve_app.estimators import (
    BASIC_ATTRIBUTES,
    FACE_DESCRIPTOR,
    FACE_DETECTOR,
    FACE_LANDMARKS,
    Estimators,
)
from serve_app.settings import Settings

HEALTH_TIMEOUT_S = 10.0
# Items per call: images for the detector (they batch across requests one by one), faces
# for the others (a call is then a crowd photo's worth of work at most).
CALL_SIZE = {FACE_DETECTOR: 1, FACE_LANDMARKS: 16, FACE_DESCRIPTOR: 16, BASIC_ATTRIBUTES: 16}


class RayEstimators(Estimators):
    """Model estimators as Ray Serve deployments; classical ones in this process."""

    def __init__(self, settings: Settings, handles: dict[str, Any]) -> None:
        super().__init__(settings)
        self.handles = handles

    async def _each(self, name: str, prepare: Any, items: Sequence[Any]) -> list[Any]:
        """Prepare each item here (adapters load no model for that), send them in calls of
        ``CALL_SIZE`` items, and return one result per item."""
        self.require(name)
        handle = self.handles[name]
        prepared = await asyncio.to_thread(lambda: [prepare(item) for item in items])
        size = CALL_SIZE[name]
        calls = [prepared[i : i + size] for i in range(0, len(prepared), size)]
        answers = await asyncio.gather(*(handle.infer.remote(call) for call in calls))
        return [result for answer in answers for result in answer]

    async def detect_faces(self, images: Sequence[np.ndarray]) -> list[list[FaceDetection]]:
        """One detector call per image."""
        return await self._each(FACE_DETECTOR, self.adapter(FACE_DETECTOR).prepare, images)

    async def landmarks106(
        self, faces: Sequence[tuple[np.ndarray, np.ndarray]]
    ) -> list[np.ndarray]:
        """One landmark call per face."""
        model = self.adapter(FACE_LANDMARKS)
        return await self._each(FACE_LANDMARKS, lambda pair: model.prepare(*pair), faces)

    async def extract_descriptors(self, warps: Sequence[np.ndarray]) -> list[Descriptor]:
        """One descriptor call per warp."""
        return await self._each(FACE_DESCRIPTOR, self.adapter(FACE_DESCRIPTOR).prepare, warps)

    async def estimate_basic_attributes(self, warps: Sequence[np.ndarray]) -> list[AgeGender]:
        """One age/gender call per warp."""
        model = self.adapter(BASIC_ATTRIBUTES)
        return await self._each(BASIC_ATTRIBUTES, model.prepare, warps)

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

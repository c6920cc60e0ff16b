"""The one interface through which routes reach the estimators, and its in-process version.

Production reaches each estimator's Ray Serve deployment through a DeploymentHandle
(:mod:`serve_app.ray_estimators`); tests and single-process use call the same model adapters
directly (:class:`LocalEstimators`). Routes cannot tell the difference.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from models.registry import build_adapter
from models.types import FaceDetection
from serve_app.errors import ESTIMATOR_DISABLED, LunaError
from serve_app.settings import Settings

FACE_DETECTOR = "face_detector"


def build_estimator(settings: Settings, name: str) -> Any:
    """The model adapter of a configured estimator; raises when it is not configured."""
    config = settings.estimator(name)
    if config is None:
        raise LunaError(ESTIMATOR_DISABLED, f"estimator '{name}' is not configured")
    return build_adapter(
        name,
        config.model,
        settings.resolved_models_dir,
        options=config.options,
        runtime=config.runtime,
        manifest_extra=settings.models,
    )


class Estimators(ABC):
    """What the routes may ask of the models."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def require(self, name: str) -> None:
        """Raise LUNA's licence-style error naming ``name`` when it is not configured."""
        if self.settings.estimator(name) is None:
            raise LunaError(ESTIMATOR_DISABLED, f"estimator '{name}' is not configured")

    @abstractmethod
    async def detect_faces(self, images: Sequence[np.ndarray]) -> list[list[FaceDetection]]:
        """Faces in each BGR image, best score first."""

    @abstractmethod
    async def health(self) -> dict[str, str | None]:
        """For each configured estimator: None when healthy, else what is wrong."""


class LocalEstimators(Estimators):
    """Estimators run in this process, on a worker thread so the event loop stays free."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._adapters: dict[str, Any] = {}

    def adapter(self, name: str) -> Any:
        """The adapter for ``name``, built on first use."""
        if name not in self._adapters:
            self.require(name)
            self._adapters[name] = build_estimator(self.settings, name)
        return self._adapters[name]

    async def detect_faces(self, images: Sequence[np.ndarray]) -> list[list[FaceDetection]]:
        """Run the face detector on the whole list as one batch."""
        detector = self.adapter(FACE_DETECTOR)
        return await asyncio.to_thread(detector.detect, list(images))

    async def health(self) -> dict[str, str | None]:
        """Load every configured model; report the ones that fail."""
        report: dict[str, str | None] = {}
        for name, config in self.settings.estimators.items():
            if not config.enabled:
                continue
            try:
                await asyncio.to_thread(self.adapter(name).model.load)
                report[name] = None
            except Exception as exc:
                report[name] = str(exc)
        return report

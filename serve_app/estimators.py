"""The one interface through which routes reach the estimators, and its in-process version.

Production reaches each model's Ray Serve deployment through a DeploymentHandle
(:mod:`serve_app.ray_estimators`); tests and single-process use call the same model adapters
directly (:class:`LocalEstimators`). Routes cannot tell the difference.

Head pose and image quality are classical computations of microseconds (a least-squares fit,
a few image statistics): they run where the landmarks and warps already are, in the ingress,
because a hop to another deployment would cost more than the work.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from models.age_gender import AgeGender
from models.arcface import Descriptor
from models.head_pose import HeadPose
from models.image_quality import ImageQuality
from models.registry import build_adapter
from models.types import FaceDetection
from serve_app.errors import ESTIMATOR_DISABLED, LunaError
from serve_app.settings import Settings

FACE_DETECTOR = "face_detector"
FACE_LANDMARKS = "face_landmarks"
HEAD_POSE = "head_pose"
IMAGE_QUALITY = "image_quality"
FACE_DESCRIPTOR = "face_descriptor"
BASIC_ATTRIBUTES = "basic_attributes"
# Estimators with their own Ray Serve deployment; the others run in the ingress.
DEPLOYED = (FACE_DETECTOR, FACE_LANDMARKS, FACE_DESCRIPTOR, BASIC_ATTRIBUTES)


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
        extra_models=config.extra_models,
    )


class Estimators(ABC):
    """What the routes may ask of the models."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._adapters: dict[str, Any] = {}

    def available(self, name: str) -> bool:
        """Whether estimator ``name`` is configured and enabled."""
        return self.settings.estimator(name) is not None

    def require(self, name: str) -> None:
        """Raise LUNA's licence-style error naming ``name`` when it is not configured."""
        if not self.available(name):
            raise LunaError(ESTIMATOR_DISABLED, f"estimator '{name}' is not configured")

    def adapter(self, name: str) -> Any:
        """The adapter for ``name``, built on first use; its model loads on first run."""
        if name not in self._adapters:
            self.require(name)
            self._adapters[name] = build_estimator(self.settings, name)
        return self._adapters[name]

    @abstractmethod
    async def detect_faces(self, images: Sequence[np.ndarray]) -> list[list[FaceDetection]]:
        """Faces in each BGR image, best score first."""

    @abstractmethod
    async def landmarks106(
        self, faces: Sequence[tuple[np.ndarray, np.ndarray]]
    ) -> list[np.ndarray]:
        """106 landmarks, in image pixels, for each (image, box) pair."""

    @abstractmethod
    async def extract_descriptors(self, warps: Sequence[np.ndarray]) -> list[Descriptor]:
        """The descriptor of each 250x250 face warp."""

    @abstractmethod
    async def estimate_basic_attributes(self, warps: Sequence[np.ndarray]) -> list[AgeGender]:
        """Age and gender of each face warp."""

    @abstractmethod
    async def health(self) -> dict[str, str | None]:
        """For each configured model: None when healthy, else what is wrong."""

    async def head_poses(self, landmarks68: Sequence[np.ndarray]) -> list[HeadPose]:
        """Head pose of each face from its 68 landmarks."""
        estimator = self.adapter(HEAD_POSE)
        return await asyncio.to_thread(lambda: [estimator.estimate(p) for p in landmarks68])

    async def image_quality(self, warps: Sequence[np.ndarray]) -> list[ImageQuality]:
        """Image quality of each face warp."""
        return await asyncio.to_thread(self.adapter(IMAGE_QUALITY).estimate, list(warps))

    def similarity(self, cosines: np.ndarray | float) -> np.ndarray:
        """LUNA similarity of descriptor cosines, by the descriptor model's calibration."""
        return self.adapter(FACE_DESCRIPTOR).similarity(cosines)

    def descriptor_version(self) -> int:
        """Version of the descriptors the configured model produces."""
        return self.adapter(FACE_DESCRIPTOR).descriptor_version


class LocalEstimators(Estimators):
    """Estimators run in this process, on worker threads so the event loop stays free."""

    async def detect_faces(self, images: Sequence[np.ndarray]) -> list[list[FaceDetection]]:
        """Run the face detector on the whole list as one batch."""
        return await asyncio.to_thread(self.adapter(FACE_DETECTOR).detect, list(images))

    async def landmarks106(
        self, faces: Sequence[tuple[np.ndarray, np.ndarray]]
    ) -> list[np.ndarray]:
        """Run the landmark model on all faces as one batch."""
        model = self.adapter(FACE_LANDMARKS)
        return await asyncio.to_thread(
            lambda: model.infer([model.prepare(image, box) for image, box in faces])
        )

    async def extract_descriptors(self, warps: Sequence[np.ndarray]) -> list[Descriptor]:
        """Run the descriptor model on all warps as one batch."""
        model = self.adapter(FACE_DESCRIPTOR)
        return await asyncio.to_thread(lambda: model.extract(list(warps)).items())

    async def estimate_basic_attributes(self, warps: Sequence[np.ndarray]) -> list[AgeGender]:
        """Run the age and gender models on all warps as one batch."""
        return await asyncio.to_thread(self.adapter(BASIC_ATTRIBUTES).estimate, list(warps))

    async def health(self) -> dict[str, str | None]:
        """Load every configured model; report the ones that fail."""
        report: dict[str, str | None] = {}
        for name, config in self.settings.estimators.items():
            if not config.enabled:
                continue
            try:
                await asyncio.to_thread(self.adapter(name).load)
                report[name] = None
            except Exception as exc:
                report[name] = str(exc)
        return report

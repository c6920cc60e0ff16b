"""Estimations on detected faces, step by step: landmarks, head pose, angle filters, warp,
quality, descriptor (and its score filter), basic attributes.

Each step runs only when a later output needs it, and each model step sends the faces of
all images of the request together so that the estimator batches them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from models.face_align import warp_face
from models.landmarks import to_landmarks68
from serve_app.estimators import (
    BASIC_ATTRIBUTES,
    FACE_DESCRIPTOR,
    FACE_LANDMARKS,
    HEAD_POSE,
    IMAGE_QUALITY,
    Estimators,
)
from serve_app.faces import Face, FilterReason, ImageResult


@dataclass(frozen=True)
class AnalysisOptions:
    """Which estimations a request asks for, and its filters."""

    landmarks68: bool = False
    head_pose: bool = False
    quality: bool = False
    warp: bool = False
    descriptor: bool = False
    basic_attributes: bool = False
    pitch_threshold: float | None = None
    roll_threshold: float | None = None
    yaw_threshold: float | None = None
    score_threshold: float = 0.0

    @property
    def angle_thresholds(self) -> dict[str, float]:
        """The head pose filters asked for, by angle."""
        limits = {
            "pitch": self.pitch_threshold,
            "roll": self.roll_threshold,
            "yaw": self.yaw_threshold,
        }
        return {angle: value for angle, value in limits.items() if value is not None}

    @property
    def needs_head_pose(self) -> bool:
        """Whether head poses must be estimated."""
        return self.head_pose or bool(self.angle_thresholds)

    @property
    def needs_landmarks68(self) -> bool:
        """Whether 68 landmarks must be estimated."""
        return self.landmarks68 or self.needs_head_pose

    @property
    def needs_warp(self) -> bool:
        """Whether faces must be warped."""
        return self.warp or self.quality or self.descriptor or self.basic_attributes

    def estimators(self) -> list[str]:
        """The estimators these options use."""
        wanted = [
            (self.needs_landmarks68, FACE_LANDMARKS),
            (self.needs_head_pose, HEAD_POSE),
            (self.quality, IMAGE_QUALITY),
            (self.descriptor or self.score_threshold > 0, FACE_DESCRIPTOR),
            (self.basic_attributes, BASIC_ATTRIBUTES),
        ]
        return [name for needed, name in wanted if needed]


class FaceAnalysis:
    """Fills the faces of detection results with the estimations asked for."""

    def __init__(self, estimators: Estimators) -> None:
        self.estimators = estimators

    async def run(self, results: list[ImageResult], options: AnalysisOptions) -> None:
        """Estimate in place; faces that fail a filter move to their image's ``filtered``."""
        for name in options.estimators():
            self.estimators.require(name)
        if options.needs_landmarks68:
            await self._landmarks(results)
        if options.needs_head_pose:
            await self._head_poses(results)
            _filter(results, options.angle_thresholds)
        if options.needs_warp:
            await self._warps(results)
        steps = []
        if options.quality:
            steps.append(self._quality(results))
        if options.descriptor or options.score_threshold > 0:
            steps.append(self._descriptors(results))
        if options.basic_attributes:
            steps.append(self._basic_attributes(results))
        await asyncio.gather(*steps)
        if options.score_threshold > 0:
            _filter_scores(results, options.score_threshold)

    async def _landmarks(self, results: list[ImageResult]) -> None:
        pairs = [(r, f) for r in results if not r.warped for f in _faces(r)]
        if not pairs:
            return
        points = await self.estimators.landmarks106([(r.image, f.box) for r, f in pairs])
        for (_, face), dense in zip(pairs, points, strict=True):
            face.landmarks68 = to_landmarks68(dense)

    async def _head_poses(self, results: list[ImageResult]) -> None:
        faces = [f for r in results for f in _faces(r) if f.landmarks68 is not None]
        if faces:
            poses = await self.estimators.head_poses([f.landmarks68 for f in faces])
            for face, pose in zip(faces, poses, strict=True):
                face.head_pose = pose

    async def _warps(self, results: list[ImageResult]) -> None:
        pairs = [(r, f) for r in results for f in _faces(r) if f.warp is None]

        def work() -> None:
            for result, face in pairs:
                if face.landmarks5 is not None:
                    face.warp = warp_face(result.image, face.landmarks5)

        await asyncio.to_thread(work)

    async def _quality(self, results: list[ImageResult]) -> None:
        faces = _warped_faces(results)
        for face, quality in zip(
            faces, await self.estimators.image_quality([f.warp for f in faces]), strict=True
        ):
            face.quality = quality

    async def _descriptors(self, results: list[ImageResult]) -> None:
        faces = _warped_faces(results)
        found = await self.estimators.extract_descriptors([f.warp for f in faces])
        for face, descriptor in zip(faces, found, strict=True):
            face.descriptor = descriptor

    async def _basic_attributes(self, results: list[ImageResult]) -> None:
        faces = _warped_faces(results)
        found = await self.estimators.estimate_basic_attributes([f.warp for f in faces])
        for face, attributes in zip(faces, found, strict=True):
            face.basic_attributes = attributes


def _faces(result: ImageResult) -> list[Face]:
    return result.faces if result.error is None else []


def _warped_faces(results: list[ImageResult]) -> list[Face]:
    return [f for r in results for f in _faces(r) if f.warp is not None]


def _filter(results: list[ImageResult], thresholds: dict[str, float]) -> None:
    """Move faces turned further than a threshold allows to ``filtered``."""
    if not thresholds:
        return
    for result in results:
        kept = []
        for face in _faces(result):
            if face.head_pose is not None:
                for angle, limit in thresholds.items():
                    value = getattr(face.head_pose, angle)
                    if abs(value) > limit:
                        face.filter_reasons.append(FilterReason(f"{angle}_threshold", value, limit))
            (result.filtered if face.filter_reasons else kept).append(face)
        result.faces = kept


def _filter_scores(results: list[ImageResult], threshold: float) -> None:
    """Move faces whose descriptor scores below ``threshold`` to ``filtered``."""
    for result in results:
        kept = []
        for face in _faces(result):
            if face.descriptor is not None and face.descriptor.score < threshold:
                reason = FilterReason("score_threshold", face.descriptor.score, threshold)
                face.filter_reasons.append(reason)
                result.filtered.append(face)
            else:
                kept.append(face)
        result.faces = kept

"""ArcFace-family face descriptors (InsightFace recognition models), batched.

The descriptor is the model's 512-d embedding, L2-normalised. Its length before
normalisation is kept too: for margin-based face recognition models the feature norm grows
with how recognisable the face is (Ranjan et al. 2017, "L2-constrained softmax loss";
Meng et al. 2021, "MagFace"), which makes it the descriptor's quality ("garbage") score:
blurred, tiny, occluded or non-face inputs give short embeddings. The norm is mapped to
[0, 1] by a logistic whose centre and width are calibrated per model (see
docs/estimators.md) and configured as adapter options.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.base import Adapter
from models.face.face_align import arcface_input
from models.runtime import OnnxModel, RuntimeOptions


@dataclass(frozen=True)
class Descriptor:
    """One face's descriptor: unit vector, quality score in [0, 1], model version."""

    vector: np.ndarray
    score: float
    version: int


@dataclass(frozen=True)
class Descriptors:
    """Descriptors of a batch: unit vectors (N, D) float32 and quality scores (N,)."""

    vectors: np.ndarray
    scores: np.ndarray
    norms: np.ndarray
    version: int

    def items(self) -> list[Descriptor]:
        """One :class:`Descriptor` per face."""
        return [
            Descriptor(vector, float(score), self.version)
            for vector, score in zip(self.vectors, self.scores, strict=True)
        ]


class ArcFaceExtractor(Adapter):
    """Descriptor extractor for ArcFace ONNX models taking 112x112 aligned faces."""

    task = "face_descriptor"
    family = "arcface"
    input_size = 112

    def __init__(
        self,
        model_path: Path | str,
        runtime: RuntimeOptions | None = None,
        descriptor_version: int = 0,
        score_center: float = 14.5,
        score_width: float = 1.0,
        input_mean: float = 127.5,
        input_std: float = 127.5,
        similarity_center: float = 0.30,
        similarity_width: float = 0.05,
        verification_threshold: float = 0.5,
        descriptor_size: int = 512,
    ) -> None:
        self.model = OnnxModel(model_path, runtime)
        self.descriptor_version = int(descriptor_version)
        self.score_center = float(score_center)
        self.score_width = float(score_width)
        self.input_mean = float(input_mean)
        self.input_std = float(input_std)
        self.similarity_center = float(similarity_center)
        self.similarity_width = float(similarity_width)
        # Default similarity above which two descriptors are taken for one person.
        self.verification_threshold = float(verification_threshold)
        self.descriptor_size = int(descriptor_size)

    def sessions(self) -> list[OnnxModel]:
        """The recognition graph."""
        return [self.model]

    def prepare(self, warp: np.ndarray) -> np.ndarray:
        """The model's 112x112 input cut from a 250x250 face warp."""
        return arcface_input(warp, self.input_size)

    def extract(self, warps: Sequence[np.ndarray]) -> Descriptors:
        """Descriptors of face warps as arrays, with the embedding norms (calibration)."""
        return self.infer_batch([self.prepare(warp) for warp in warps])

    def infer(self, crops: Sequence[np.ndarray]) -> list[Descriptor]:
        """One descriptor per 112x112 BGR crop cut with :meth:`prepare`."""
        return self.infer_batch(crops).items()

    def infer_batch(self, crops: Sequence[np.ndarray]) -> Descriptors:
        """Descriptors of prepared crops as arrays (norms kept, for calibration)."""
        if not crops:
            return Descriptors(np.zeros((0, 512), np.float32), np.zeros(0), np.zeros(0),
                               self.descriptor_version)  # fmt: skip
        blob = cv2.dnn.blobFromImages(
            list(crops), 1.0 / self.input_std, (self.input_size, self.input_size),
            (self.input_mean,) * 3, swapRB=True,
        )  # fmt: skip
        raw = self.model.run(blob)[0].astype(np.float32)
        norms = np.linalg.norm(raw, axis=1)
        vectors = raw / np.maximum(norms[:, None], 1e-12)
        return Descriptors(vectors, self.quality(norms), norms, self.descriptor_version)

    def similarity(self, cosines: np.ndarray | float) -> np.ndarray:
        """LUNA similarity in [0, 1] of descriptor cosines: a logistic calibrated per model
        on genuine and impostor pairs (docs/estimators.md)."""
        cosines = np.asarray(cosines, dtype=np.float64)
        return 1.0 / (1.0 + np.exp(-(cosines - self.similarity_center) / self.similarity_width))

    def quality(self, norms: np.ndarray) -> np.ndarray:
        """Descriptor quality in [0, 1] from embedding norms (logistic, calibrated)."""
        return 1.0 / (1.0 + np.exp(-(np.asarray(norms) - self.score_center) / self.score_width))

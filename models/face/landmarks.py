"""Dense face landmarks: InsightFace's 2d106det (106 points), and the 68-point markup from it.

2d106det takes a loose 192x192 crop around a detection box (the box's centre, its longer
side scaled by 1.5) and regresses 106 points. LUNA reports the 68-point iBUG markup; each
of the 68 points is taken from the 106 point that stands at the same place of the face
(see ``LANDMARKS68_FROM_106`` and docs/estimators.md for how the table was derived and
checked against dlib's 68-point model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.base import Adapter
from models.runtime import OnnxModel, RuntimeOptions


@dataclass(frozen=True)
class LandmarkCrop:
    """A face cut out for the landmark model, and the transform from image to crop."""

    crop: np.ndarray
    matrix: np.ndarray


class Landmarks106(Adapter):
    """106-point landmarks from InsightFace's 2d106det ONNX model."""

    task = "face_landmarks"
    family = "insightface_2d106"
    input_size = 192
    box_scale = 1.5

    def __init__(self, model_path: Path | str, runtime: RuntimeOptions | None = None) -> None:
        self.model = OnnxModel(model_path, runtime)

    def sessions(self) -> list[OnnxModel]:
        """The landmark graph."""
        return [self.model]

    def prepare(self, item: tuple[np.ndarray, np.ndarray]) -> LandmarkCrop:
        """The 192x192 crop around an (x1, y1, x2, y2) box of an image: ``(image, box)``."""
        image, box = item
        x1, y1, x2, y2 = (float(v) for v in box[:4])
        scale = self.input_size / (max(x2 - x1, y2 - y1) * self.box_scale)
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        half = self.input_size / 2
        matrix = np.array([[scale, 0, half - cx * scale], [0, scale, half - cy * scale]])
        crop = cv2.warpAffine(image, matrix, (self.input_size, self.input_size), borderValue=0)
        return LandmarkCrop(crop, matrix)

    def infer(self, crops: Sequence[LandmarkCrop]) -> list[np.ndarray]:
        """106 points per prepared crop, mapped back to the crop's image."""
        if not crops:
            return []
        # The graph subtracts and scales itself: it takes raw RGB values.
        blob = cv2.dnn.blobFromImages([c.crop for c in crops], 1.0, None, (0, 0, 0), swapRB=True)
        raw = self.model.run(blob)[0].reshape(len(crops), -1, 2)
        points_in_crop = (raw + 1.0) * (self.input_size / 2)
        results = []
        for points, crop in zip(points_in_crop, crops, strict=True):
            inverse = cv2.invertAffineTransform(crop.matrix)
            results.append((points @ inverse[:, :2].T + inverse[:, 2]).astype(np.float32))
        return results


def to_landmarks68(points106: np.ndarray) -> np.ndarray:
    """The 68-point iBUG markup taken from 106 points."""
    return np.asarray(points106, dtype=np.float32)[LANDMARKS68_FROM_106]


# Index into the 106 points for each of the 68 iBUG points. 2d106det orders its points by
# name (contour_left1, contour_left10, ..., contour_left2, ...), hence the jumps. For each
# iBUG point this is the 106 point nearest to where dlib's 68-point model puts it, on
# average over 33 faces of the test photos (mean distance 0.06 of the eye distance; the
# jaw, sampled differently by the two markups, 0.08-0.13).
LANDMARKS68_FROM_106 = np.array(
    [9, 11, 13, 15, 2, 4, 6, 7, 0, 23, 21, 19, 18, 31, 29, 27, 25,  # jaw
     43, 48, 49, 51, 50, 102, 103, 104, 105, 101,  # brows
     72, 73, 74, 86, 78, 79, 80, 85, 84,  # nose
     35, 41, 42, 39, 37, 36, 89, 95, 96, 93, 91, 90,  # eyes
     52, 64, 63, 71, 67, 68, 61, 58, 59, 53, 56, 55,  # outer lips
     65, 66, 62, 70, 69, 57, 60, 54],  # inner lips
)  # fmt: skip

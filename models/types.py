"""Plain result types shared by the model adapters."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Detection:
    """One object found by a detector: ``box`` is (x1, y1, x2, y2) as float32, in the
    coordinates of the image it was found in."""

    box: np.ndarray
    score: float

    @property
    def width(self) -> float:
        """Width of the box in pixels."""
        return float(self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        """Height of the box in pixels."""
        return float(self.box[3] - self.box[1])

    @property
    def area(self) -> float:
        """Area of the box in square pixels."""
        return max(self.width, 0.0) * max(self.height, 0.0)


@dataclass
class FaceDetection(Detection):
    """One face found by a detector. ``landmarks5`` is a (5, 2) float32 array in the order
    left eye, right eye, nose tip, left mouth corner, right mouth corner (left and right as
    seen in the image), or None for detectors without landmarks."""

    landmarks5: np.ndarray | None = None


@dataclass
class BodyDetection(Detection):
    """One person found by a body detector."""

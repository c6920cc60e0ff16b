"""Image quality of a face warp: blurriness, dark, light, illumination, specularity.

Classical measurements on the face itself (the central ArcFace window of the 250x250 warp,
so hair and background count little), each a number in [0, 1] where 1 is good, as in
LUNA's quality estimation:

* blurriness: variance of the Laplacian of the face at 112x112 (sharp edges give high
  variance; Pech-Pacheco et al. 2000), mapped by v / (v + 60): a sharp portrait scores
  about 0.9, the same face blurred with sigma 2 px below 0.3.
* dark: mean luminance Y of the face, 0 below Y=40, 1 above Y=90, smooth in between.
* light: 1 - the same ramp between Y=180 and Y=240, and lowered further by the share of
  clipped pixels (Y >= 250): 10 % clipped halves it.
* illumination: uniformity of the lighting, the ratio of the darker to the brighter of the
  left and right halves of the face's lower part (cheeks, nose, mouth).
* specularity: 1 - the share of specular highlight pixels (bright, colourless: V >= 235,
  S <= 40 in HSV) on the skin between the temples and above the mouth, scaled so that
  5 % of highlights scores 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from models.base import Adapter
from models.face.face_align import arcface_input

BLUR_HALF_POINT = 60.0


@dataclass(frozen=True)
class ImageQuality:
    """Quality of one face warp; each value in [0, 1], 1 is good."""

    blurriness: float
    dark: float
    light: float
    illumination: float
    specularity: float


def _ramp(value: float, low: float, high: float) -> float:
    """0 below ``low``, 1 above ``high``, smoothstep in between."""
    t = min(max((value - low) / (high - low), 0.0), 1.0)
    return t * t * (3 - 2 * t)


def estimate_quality(warp: np.ndarray) -> ImageQuality:
    """Quality of a 250x250 BGR face warp."""
    face = arcface_input(warp, 112)
    gray = cv2.cvtColor(face, cv2.COLOR_BGR2GRAY).astype(np.float32)

    variance = float(cv2.Laplacian(gray, cv2.CV_32F).var())
    blurriness = variance / (variance + BLUR_HALF_POINT)

    mean = float(gray.mean())
    dark = _ramp(mean, 40.0, 90.0)
    clipped = float((gray >= 250).mean())
    light = (1.0 - _ramp(mean, 180.0, 240.0)) * max(0.0, 1.0 - 5.0 * clipped)

    lower = gray[56:104, 16:96]  # below the eyes: cheeks, nose, mouth
    left, right = float(lower[:, :40].mean()), float(lower[:, 40:].mean())
    illumination = min(left, right) / max(left, right, 1e-6)

    # Skin between the temples, above the mouth: white hair and teeth are bright and
    # colourless too, and are no reflection.
    hsv = cv2.cvtColor(face[20:78, 20:92], cv2.COLOR_BGR2HSV)
    highlights = float(((hsv[..., 2] >= 235) & (hsv[..., 1] <= 40)).mean())
    specularity = max(0.0, 1.0 - highlights / 0.05)

    return ImageQuality(
        blurriness=round(blurriness, 4),
        dark=round(dark, 4),
        light=round(light, 4),
        illumination=round(illumination, 4),
        specularity=round(specularity, 4),
    )


class ImageQualityEstimator(Adapter):
    """Adapter form of :func:`estimate_quality` (no model file)."""

    task = "image_quality"
    family = "classical"
    in_ingress = True

    def infer(self, prepared: Sequence[np.ndarray]) -> list[ImageQuality]:
        """Quality of each face warp."""
        return [estimate_quality(warp) for warp in prepared]

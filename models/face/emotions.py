"""Emotions from facex's MobileNetV2 expression classifier (MIT), converted to ONNX.

The model is ``facex/assets/model_optimized.tflite`` from ``facex==1.1.0`` (TFLite with
hybrid 8-bit weights; provisioning converts it and fixes its int8 weights, models/provision/
convert.py). It classifies a grey face crop, 200x200 replicated to 3 channels, in [0, 1],
into anger, disgust, fear, happy, neutral, sadness, surprised (softmax). facex cuts that crop
from the box of OpenCV's Haar frontal-face cascade (its ``haarcascade_frontalface_default.xml``)
and resizes it with anti-aliasing (scikit-image).

We start from the 250x250 face warp instead. Where the Haar box falls in the warp was
measured: the cascade (OpenCV 4.14, facex's settings 1.1 / 4) on the test photos (70 faces
matched to our detections), boxes mapped into each face's warp: median centre (124.6, 135.6),
side 152 px (interquartile ranges 3 / 4 / 19 px). So the model gets the warp's window
x 49..201, y 60..212, grey, resized to 200x200 with area averaging.

The result carries LUNA's seven estimations (anger, disgust, fear, happiness, sadness,
surprise, neutral: the model's happy, surprised renamed), which sum to 1, and the
predominant emotion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.base import Adapter
from models.runtime import OnnxModel, RuntimeOptions

INPUT_SIZE = 200
#: The Haar cascade's face box, as measured in the 250x250 warp: x0, y0, x1, y1 (see above).
HAAR_WINDOW = (49, 60, 201, 212)
#: The model's classes, in its output order, under LUNA's names.
EMOTIONS = ("anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise")
#: LUNA's order of the estimations.
LUNA_ORDER = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")


@dataclass(frozen=True)
class Emotions:
    """Probabilities of LUNA's seven emotions (summing to 1)."""

    anger: float
    disgust: float
    fear: float
    happiness: float
    sadness: float
    surprise: float
    neutral: float

    @property
    def predominant_emotion(self) -> str:
        """The most probable emotion, by LUNA's name."""
        estimations = self.estimations()
        return max(estimations, key=estimations.__getitem__)

    def estimations(self) -> dict[str, float]:
        """``{anger, disgust, fear, happiness, sadness, surprise, neutral}``."""
        return {name: getattr(self, name) for name in LUNA_ORDER}


class EmotionsEstimator(Adapter):
    """Seven emotions on face warps."""

    task = "emotions"
    family = "facex_emotions"

    def __init__(self, model_path: Path | str, runtime: RuntimeOptions | None = None) -> None:
        self.model = OnnxModel(model_path, runtime)

    def sessions(self) -> list[OnnxModel]:
        """The classifier graph."""
        return [self.model]

    def prepare(self, warp: np.ndarray) -> np.ndarray:
        """The model input of a 250x250 BGR warp: its Haar-box window, grey, 200x200x3 in
        [0, 1]."""
        x0, y0, x1, y1 = HAAR_WINDOW
        grey = cv2.cvtColor(warp[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
        small = cv2.resize(grey, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
        return np.repeat(small[..., None], 3, axis=-1).astype(np.float32) / 255.0

    def infer(self, prepared: Sequence[np.ndarray]) -> list[Emotions]:
        """Emotions of a batch of prepared inputs."""
        if not prepared:
            return []
        probabilities = self.model.run(np.stack(prepared))[0].astype(np.float64)
        # Softmax outputs; renormalise so that float rounding never breaks the sum of 1.
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        return [
            Emotions(**{name: float(p) for name, p in zip(EMOTIONS, row, strict=True)})
            for row in probabilities
        ]

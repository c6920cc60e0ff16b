"""Body warps: the 128x256 (width x height) image of one detected person, as LUNA's.

A body box is widened or heightened about its centre to the warp's 1:2 aspect, so the person
is never stretched: a standing person's box (about 1:2.5) gains some background at the
sides, a crouching person's box gains some above and below. The enlarged box is then cut from
the image and scaled to 128x256; what falls outside the image is black (0, 0, 0), which
estimators that read the warp can tell from real pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

BODY_WARP_WIDTH, BODY_WARP_HEIGHT = 128, 256


def body_warp_window(box: Sequence[float] | np.ndarray) -> tuple[float, float, float, float]:
    """The (x1, y1, x2, y2) window of a body warp: ``box`` grown about its centre to 1:2."""
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    width, height = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    aspect = BODY_WARP_WIDTH / BODY_WARP_HEIGHT
    if width / height < aspect:
        width = height * aspect
    else:
        height = width / aspect
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    return cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2


def body_warp(image: np.ndarray, box: Sequence[float] | np.ndarray) -> np.ndarray:
    """The 128x256 body warp (BGR uint8, 256 rows of 128) of the person in ``box``.

    ``box`` is (x1, y1, x2, y2) in ``image`` pixels, as the body detector gives it.
    """
    x1, y1, x2, y2 = body_warp_window(box)
    scale = BODY_WARP_WIDTH / (x2 - x1)
    height, width = image.shape[:2]
    # Only the part of the window inside the image is sampled; the rest stays black.
    left, top = max(0, int(np.floor(x1))), max(0, int(np.floor(y1)))
    right, bottom = min(width, int(np.ceil(x2))), min(height, int(np.ceil(y2)))
    if right <= left or bottom <= top:
        return np.zeros((BODY_WARP_HEIGHT, BODY_WARP_WIDTH, 3), dtype=np.uint8)
    crop = image[top:bottom, left:right]
    step = scale
    # Bilinear sampling of a person shrunk 3x or more aliases (stripes, thin limbs lost):
    # area-average the crop down to twice the warp's scale first.
    if scale < 0.5:
        shrink = 2 * scale
        size = (max(1, round(crop.shape[1] * shrink)), max(1, round(crop.shape[0] * shrink)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        step = scale / shrink
    matrix = np.array(
        [[step, 0.0, (left - x1) * scale], [0.0, step, (top - y1) * scale]], dtype=np.float64
    )
    return cv2.warpAffine(
        crop,
        matrix,
        (BODY_WARP_WIDTH, BODY_WARP_HEIGHT),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )

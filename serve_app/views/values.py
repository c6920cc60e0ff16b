"""JSON of plain values: rectangles, points and bytes, as LUNA clients read them.

Rects and landmarks are whole pixels: LUNA's own client models declare them as integers,
and a typed client (e.g. Kotlin/Moshi) rejects a fractional value for an int field.
"""

from __future__ import annotations

import base64

import numpy as np


def rect(box: np.ndarray) -> dict[str, int]:
    """``{x, y, width, height}`` of an (x1, y1, x2, y2) box."""
    x, y = round(float(box[0])), round(float(box[1]))
    return {
        "x": x,
        "y": y,
        "width": round(float(box[2])) - x,
        "height": round(float(box[3])) - y,
    }


def points(values: np.ndarray) -> list[list[int]]:
    """``[[x, y], ...]`` of an (N, 2) array."""
    return [[round(float(x)), round(float(y))] for x, y in values]


def b64(data: bytes) -> str:
    """Bytes as base64 text."""
    return base64.b64encode(data).decode("ascii")

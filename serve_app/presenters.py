"""JSON shapes of results, as LUNA clients read them.

Rects and landmarks are whole pixels: LUNA's own client models declare them as integers,
and a typed client (e.g. Kotlin/Moshi) rejects a fractional value for an int field.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from serve_app.detection import Face, ImageResult
from serve_app.errors import SUCCESS

SUCCESS_ERROR = {"error_code": SUCCESS.code, "desc": SUCCESS.desc, "detail": SUCCESS.detail}


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


def face_detection(face: Face) -> dict[str, Any]:
    """The ``detection`` object of one face."""
    out: dict[str, Any] = {"rect": rect(face.box)}
    if face.landmarks5 is not None:
        out["landmarks5"] = points(face.landmarks5)
    if face.score is not None:
        out["score"] = round(face.score, 6)
    return out


def detector_image(result: ImageResult) -> dict[str, Any]:
    """One entry of ``/1/detector``'s ``images``."""
    out: dict[str, Any] = {"filename": result.filename}
    if result.error is not None:
        out["status"] = 0
        out["error"] = result.error.body
    else:
        out["status"] = 1
        out["error"] = SUCCESS_ERROR
        out["detections"] = {
            "samples": [{"face": {"detection": face_detection(face)}} for face in result.faces],
            "filtered_detections": {"face_detections": []},
        }
    if result.exif is not None:
        out["exif"] = result.exif
    return out

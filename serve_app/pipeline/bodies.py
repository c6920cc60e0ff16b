"""Bodies in the detect step: the body detector, the rules that tie a body to its face,
LUNA's multiface policy for bodies, and body warps.

A face belongs to the body whose box holds it, centred near the top; each body takes at most
one face, the best placed. With ``multiface_policy=1`` every body is kept, with its face or
alone; with 0 and 2 only the bodies of the faces kept are (none without faces), as the API
document says for each policy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np

from models.body.body_align import BODY_WARP_HEIGHT, BODY_WARP_WIDTH, body_warp
from serve_app.errors import BAD_BODY_WARP_SIZE, LunaError
from serve_app.estimators import Estimators
from serve_app.pipeline.faces import Body, Face, ImageResult

BODY_DETECTOR = "body_detector"
# The face's centre must lie in this top share of the body box, and this share of the face
# box inside it.
_HEAD_ZONE = 0.4
_FACE_INSIDE = 0.6


async def detect_bodies(
    estimators: Estimators, results: Sequence[ImageResult], multiface_policy: int
) -> None:
    """Find the bodies of every decoded image (one batched call), tie faces to them and keep
    those the multiface policy keeps."""
    pending = [r for r in results if r.error is None and r.image is not None]
    if not pending:
        estimators.require(BODY_DETECTOR)
        return
    found = await estimators.run(BODY_DETECTOR, [r.image for r in pending])
    for result, detections in zip(pending, found, strict=True):
        bodies = [Body(box=np.asarray(d.box, np.float32), score=float(d.score)) for d in detections]
        attach(result.faces, bodies)
        if multiface_policy == 1:
            result.bodies = bodies
        else:
            result.bodies = [f.body for f in result.faces if f.body is not None]


def attach(faces: Sequence[Face], bodies: Sequence[Body]) -> None:
    """Give each face the body it belongs to, if any; a body takes one face at most."""
    pairs = sorted(
        ((fit, i, j) for i, face in enumerate(faces) for j, body in enumerate(bodies)
         if (fit := _fit(face.box, body.box)) > 0),
        reverse=True,
    )  # fmt: skip
    taken_faces: set[int] = set()
    taken_bodies: set[int] = set()
    for _, i, j in pairs:
        if i not in taken_faces and j not in taken_bodies:
            faces[i].body = bodies[j]
            taken_faces.add(i)
            taken_bodies.add(j)


def _fit(face: np.ndarray, body: np.ndarray) -> float:
    """How well a face box sits as the head of a body box: 0 when it cannot, else larger the
    more of the face lies inside and the closer it is to the body's centre line."""
    fx1, fy1, fx2, fy2 = (float(v) for v in face[:4])
    bx1, by1, bx2, by2 = (float(v) for v in body[:4])
    area = max(fx2 - fx1, 1e-6) * max(fy2 - fy1, 1e-6)
    inside = max(0.0, min(fx2, bx2) - max(fx1, bx1)) * max(0.0, min(fy2, by2) - max(fy1, by1))
    cx, cy = (fx1 + fx2) / 2, (fy1 + fy2) / 2
    width, height = max(bx2 - bx1, 1e-6), max(by2 - by1, 1e-6)
    if inside / area < _FACE_INSIDE or not by1 <= cy <= by1 + _HEAD_ZONE * height:
        return 0.0
    off_centre = abs(cx - (bx1 + bx2) / 2) / width
    return inside / area - off_centre


def take_body_warp(result: ImageResult) -> None:
    """An input image that is a body warp (``image_type=2``) is its one body."""
    assert result.image is not None
    height, width = result.image.shape[:2]
    if (width, height) != (BODY_WARP_WIDTH, BODY_WARP_HEIGHT):
        result.error = LunaError(BAD_BODY_WARP_SIZE)
        return
    result.warped = True
    box = np.array([0, 0, width, height], dtype=np.float32)
    result.bodies = [Body(box=box, warp=result.image)]


async def make_body_warps(results: Sequence[ImageResult]) -> None:
    """The 128x256 warp of every body that has none yet."""
    pairs = [(r, b) for r in results for b in r.live_bodies if b.warp is None]

    def work() -> None:
        for result, body in pairs:
            body.warp = body_warp(result.image, body.box)

    if pairs:
        await asyncio.to_thread(work)

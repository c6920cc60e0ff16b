"""The detect step: faces (and bodies) in a request's images, and the estimations of LUNA's
detect policy.

Each image succeeds or fails on its own; the faces of all images of a request go to each
estimator together so that it batches them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import numpy as np

from models.face.face_align import WARP_SIZE, warp_face
from models.image_ops import nms
from serve_app.errors import BAD_WARP_SIZE, MULTIPLE_FACES, NO_DATA, LunaError
from serve_app.estimations import BY_NAME, Stage
from serve_app.estimators import Estimators
from serve_app.http import images
from serve_app.http.exif import extract_exif
from serve_app.http.images import ImageLimits
from serve_app.http.inputs import BoundingBox, ImageInput
from serve_app.http.timing import stage
from serve_app.pipeline.bodies import detect_bodies, make_body_warps, take_body_warp
from serve_app.pipeline.estimate import estimate
from serve_app.pipeline.face_quality import apply_face_quality
from serve_app.pipeline.faces import Face, FilterReason, ImageResult
from serve_app.pipeline.plan import BODY_WARP, FACE_DETECTOR, Plan

# A face found inside a client's box must overlap it at least this much to stand for it.
BOX_MATCH_IOU = 0.3


async def detect(
    estimators: Estimators, limits: ImageLimits, inputs: Sequence[ImageInput], plan: Plan
) -> list[ImageResult]:
    """The detect policy step: one result per input, in order, each image failing alone.

    Decode, detect (or take a face warp as its face), apply the multiface policy, then the
    estimations of the detect step: landmarks and head pose on the source image, warps, the
    estimations made on warps (quality, ...), and last the angle filters.
    """
    with stage("decode"):
        results = list(await asyncio.gather(*(_decode(item, plan, limits) for item in inputs)))
    if plan.warped:
        for result in results:
            if result.error is None:
                _take_warp(result)
    elif plan.image_type == BODY_WARP:
        for result in results:
            if result.error is None:
                take_body_warp(result)
    elif plan.detect_face:
        await _detect(estimators, list(zip(inputs, results, strict=True)))
    for result in results:
        if result.error is None:
            _apply_policy(result, plan.multiface_policy)
    if plan.detects_bodies:
        await detect_bodies(estimators, results, plan.multiface_policy)
    # Every detect-step estimation is made on every face before the angle filters, so that
    # a filtered face still shows how it looked (clients read a filtered face's quality).
    steps = plan.stage(Stage.DETECT)
    await estimate(estimators, results, [s for s in steps if not s.after_warps])
    with stage("warp"):
        if plan.needs_warps:
            await make_warps(results)
        await make_body_warps(results)
    await estimate(estimators, results, [s for s in steps if s.after_warps])
    _filter_angles(results, plan.angle_thresholds)
    _filter_states(results, plan.states)
    apply_face_quality(results, plan.face_quality)
    return results


async def _decode(item: ImageInput, plan: Plan, limits: ImageLimits) -> ImageResult:
    result = ImageResult(item.filename, error=item.error, source=item.data)
    if item.error is None and item.data is None:  # e.g. a sample id nobody resolved
        result.error = LunaError(NO_DATA)
    if result.error is not None:
        return result
    data, mimetype = item.data, item.mimetype
    use_exif = plan.use_exif and not plan.warped

    def work() -> None:
        result.image = images.decode(data, mimetype, limits, use_exif)
        if plan.extract_exif:
            result.exif = extract_exif(data)

    try:
        await asyncio.to_thread(work)
    except LunaError as exc:
        result.error = exc
    return result


def _take_warp(result: ImageResult) -> None:
    assert result.image is not None
    height, width = result.image.shape[:2]
    if (height, width) != (WARP_SIZE, WARP_SIZE):
        result.error = LunaError(BAD_WARP_SIZE)
        return
    result.warped = True
    result.faces = [Face(box=np.array([0, 0, width, height], dtype=np.float32), warp=result.image)]


async def _detect(estimators: Estimators, pairs: list[tuple[ImageInput, ImageResult]]) -> None:
    # Whole images, and crops around client boxes, all in one call so they batch.
    crops: list[np.ndarray] = []
    owners: list[tuple[ImageResult, BoundingBox | None, tuple[int, int]]] = []
    for item, result in pairs:
        if result.error is not None or result.image is None:
            continue
        if item.face_bounding_boxes:
            for box in item.face_bounding_boxes:
                crop, origin = _crop_around(result.image, box)
                crops.append(crop)
                owners.append((result, box, origin))
        else:
            crops.append(result.image)
            owners.append((result, None, (0, 0)))
    if not crops:
        return
    found = await estimators.run(FACE_DETECTOR, crops)
    for (result, box, origin), detections in zip(owners, found, strict=True):
        faces = [Face.from_detection(d, origin) for d in detections]
        if box is None:
            result.faces.extend(faces)
        elif (match := _best_match(faces, box)) is not None:
            result.faces.append(match)
    for item, result in pairs:
        if item.face_bounding_boxes and len(result.faces) > 1:
            result.faces = _dedupe(result.faces)


async def make_warps(results: list[ImageResult]) -> None:
    """The 250x250 warp of every face that has landmarks and no warp yet."""
    pairs = [(r, f) for r in results for f in r.live_faces if f.warp is None]

    def work() -> None:
        for result, face in pairs:
            if face.landmarks5 is not None:
                face.warp = warp_face(result.image, face.landmarks5)

    await asyncio.to_thread(work)


def _filter_angles(results: list[ImageResult], thresholds: Mapping[str, float]) -> None:
    """Move faces turned further than a threshold allows to ``filtered``."""
    if not thresholds:
        return
    for result in results:
        for face in result.live_faces:
            if face.head_pose is None:
                continue
            for angle, limit in thresholds.items():
                value = getattr(face.head_pose, angle)
                if abs(value) > limit:
                    face.filter_reasons.append(FilterReason(f"{angle}_threshold", value, limit))
        result.move_filtered()


def _filter_states(results: list[ImageResult], states: Mapping[str, frozenset[int]]) -> None:
    """Move faces whose estimated state (e.g. mask) is not one of those asked for to
    ``filtered``; the reason names the filter, the face's state and the states allowed."""
    if not states:
        return
    for result in results:
        for face in result.live_faces:
            for name, allowed in states.items():
                declared = BY_NAME[name]
                value = face.estimations.get(name)
                if value is None or declared.state is None:
                    continue
                if (state := declared.state(value)) not in allowed:
                    reason = FilterReason(f"{declared.filter_key}_states", state, sorted(allowed))
                    face.filter_reasons.append(reason)
        result.move_filtered()


def _apply_policy(result: ImageResult, policy: int) -> None:
    if policy == 0 and len(result.faces) > 1:
        result.error = LunaError(MULTIPLE_FACES, result.filename, len(result.faces))
        result.faces = []
    elif policy == 2 and len(result.faces) > 1:
        # The detector's confidence stands for quality until a quality estimator exists.
        result.faces = [max(result.faces, key=lambda face: face.score or 0.0)]


def _crop_around(image: np.ndarray, box: BoundingBox) -> tuple[np.ndarray, tuple[int, int]]:
    """The box grown to twice its size (context lets the detector see the whole face)."""
    height, width = image.shape[:2]
    cx, cy = box.x + box.width / 2, box.y + box.height / 2
    half = max(box.width, box.height)
    x1, y1 = max(0, int(cx - half)), max(0, int(cy - half))
    x2, y2 = min(width, int(np.ceil(cx + half))), min(height, int(np.ceil(cy + half)))
    if x2 - x1 < 2 or y2 - y1 < 2:
        return image[0:1, 0:1], (0, 0)
    return np.ascontiguousarray(image[y1:y2, x1:x2]), (x1, y1)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _best_match(faces: list[Face], box: BoundingBox) -> Face | None:
    target = np.array([box.x, box.y, box.x + box.width, box.y + box.height], dtype=np.float32)
    scored = [(_iou(face.box, target), face) for face in faces]
    scored = [(iou, face) for iou, face in scored if iou >= BOX_MATCH_IOU]
    return max(scored, key=lambda pair: pair[0])[1] if scored else None


def _dedupe(faces: list[Face]) -> list[Face]:
    """Two client boxes around one face give one face, not two."""
    boxes = np.stack([face.box for face in faces])
    scores = np.array([face.score or 0.0 for face in faces], dtype=np.float32)
    keep = sorted(nms(boxes, scores, 0.5).tolist())
    return [faces[i] for i in keep]

"""SCRFD face detectors (InsightFace): boxes, scores and 5 landmarks, batched.

One adapter serves the whole family (500M, 2.5G, 10G, 34G, with or without key points,
3 or 5 strides, batched or batch-1 exports): the layout is read from the ONNX graph.

Images of different sizes share one batch because each is letterboxed onto the same square
canvas. Faces that fill the frame (close-up portraits, tight crops) are too large for the
anchors at the main input size, so the detector also looks at each image at small extra
scales and merges what both scales found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.base import Adapter
from models.image_ops import Letterbox, letterbox, nms
from models.runtime import OnnxModel, RuntimeOptions
from models.types import FaceDetection


@dataclass(frozen=True)
class PreparedImage:
    """An image made ready for batched detection: letterboxed at the main input size.

    The smaller views are cut from this canvas when the batch runs, so a prepared image is
    all a remote detector needs to receive.
    """

    view: Letterbox
    height: int
    width: int


@dataclass(frozen=True)
class _Layout:
    strides: tuple[int, ...]
    anchors_per_cell: int
    has_landmarks: bool
    batched: bool
    fixed_size: int | None


class ScrfdDetector(Adapter):
    """Face detector for SCRFD ONNX models.

    ``input_size`` is the main scale (640 fits SCRFD's training); ``extra_scales`` are
    smaller views for large faces. ``score_threshold`` and ``nms_threshold`` are the usual
    detection knobs; ``max_faces`` bounds the work for crowd photos.
    """

    task = "face_detector"
    family = "scrfd"

    def __init__(
        self,
        model_path: Path | str,
        runtime: RuntimeOptions | None = None,
        input_size: int = 640,
        extra_scales: Sequence[int] = (160,),
        score_threshold: float = 0.5,
        nms_threshold: float = 0.4,
        max_faces: int = 200,
    ) -> None:
        self.model = OnnxModel(model_path, runtime)
        self.input_size = int(input_size)
        self.extra_scales = tuple(int(s) for s in extra_scales if int(s) < self.input_size)
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self.max_faces = int(max_faces)
        self._layout_cache: _Layout | None = None
        self._centers: dict[tuple[int, int], np.ndarray] = {}

    @property
    def scales(self) -> tuple[int, ...]:
        """The sizes each image is looked at, main scale first."""
        return (self.input_size, *self.extra_scales)

    def sessions(self) -> list[OnnxModel]:
        """The detector graph."""
        return [self.model]

    @property
    def _layout(self) -> _Layout:
        if self._layout_cache is None:
            self._layout_cache = self._read_layout()
        return self._layout_cache

    def _read_layout(self) -> _Layout:
        outputs = self.model.output_shapes()
        by_count = {
            6: ((8, 16, 32), 2, False),
            9: ((8, 16, 32), 2, True),
            10: ((8, 16, 32, 64, 128), 1, False),
            15: ((8, 16, 32, 64, 128), 1, True),
        }
        if len(outputs) not in by_count:
            raise ValueError(
                f"{self.model.path.name}: {len(outputs)} outputs is not an SCRFD layout"
            )
        strides, anchors, kps = by_count[len(outputs)]
        height, width = self.model.input_shape()[2:4]
        fixed = height if isinstance(height, int) and height == width else None
        if fixed is not None and self.input_size > fixed:
            name = self.model.path.name
            raise ValueError(f"{name} takes {fixed}x{fixed} input only; set input_size to {fixed}")
        return _Layout(strides, anchors, kps, batched=len(outputs[0]) == 3, fixed_size=fixed)

    def prepare(self, image: np.ndarray) -> PreparedImage:
        """Letterbox a BGR uint8 image at every scale. Needs no session: runs anywhere."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 BGR image, got {image.shape} {image.dtype}")
        return PreparedImage(letterbox(image, self.input_size), image.shape[0], image.shape[1])

    def infer(self, batch: Sequence[PreparedImage]) -> list[list[FaceDetection]]:
        """Detect faces in images already prepared with :meth:`prepare`."""
        if not batch:
            return []
        layout = self._layout
        found: list[list[np.ndarray]] = [[] for _ in batch]
        for size in self.scales:
            views = [_shrink(item.view, size) for item in batch]
            for i, rows in enumerate(self._run_scale(views, layout)):
                # Back to original pixels: everything but the score column scales.
                rows[:, :4] /= views[i].scale
                rows[:, 5:] /= views[i].scale
                found[i].append(rows)
        results = zip(found, batch, strict=True)
        return [self._finish(np.concatenate(rows), item, layout) for rows, item in results]

    def _run_scale(self, views: list[Letterbox], layout: _Layout) -> list[np.ndarray]:
        """Raw detections per view as rows (x1, y1, x2, y2, score, 10 landmark coords)."""
        canvases = [_pad(view.canvas, layout.fixed_size) for view in views]
        if layout.batched:
            outputs = self.model.run(self._blob(canvases))
            return [
                self._decode(outputs, i, canvases[i].shape[0], layout) for i in range(len(views))
            ]
        rows = []
        for canvas in canvases:
            outputs = [o[None] for o in self.model.run(self._blob([canvas]))]
            rows.append(self._decode(outputs, 0, canvas.shape[0], layout))
        return rows

    @staticmethod
    def _blob(canvases: list[np.ndarray]) -> np.ndarray:
        # SCRFD was trained on RGB normalised as (x - 127.5) / 128.
        return cv2.dnn.blobFromImages(
            canvases, 1.0 / 128.0, None, (127.5, 127.5, 127.5), swapRB=True
        )

    def _decode(
        self, outputs: list[np.ndarray], index: int, size: int, layout: _Layout
    ) -> np.ndarray:
        count = len(layout.strides)
        decoded = []
        for level, stride in enumerate(layout.strides):
            scores = outputs[level][index].reshape(-1)
            keep = np.nonzero(scores >= self.score_threshold)[0]
            if keep.size == 0:
                continue
            centers = self._anchor_centers(size, stride, layout.anchors_per_cell)[keep]
            distances = outputs[count + level][index].reshape(-1, 4)[keep] * stride
            boxes = np.hstack([centers - distances[:, :2], centers + distances[:, 2:]])
            if layout.has_landmarks:
                offsets = outputs[2 * count + level][index].reshape(-1, 10)[keep] * stride
                points = (np.tile(centers, 5) + offsets).astype(np.float32)
            else:
                points = np.full((keep.size, 10), np.nan, dtype=np.float32)
            decoded.append(np.hstack([boxes, scores[keep, None], points]))
        return np.vstack(decoded) if decoded else np.zeros((0, 15), dtype=np.float32)

    def _anchor_centers(self, size: int, stride: int, anchors: int) -> np.ndarray:
        key = (size, stride * 10 + anchors)
        centers = self._centers.get(key)
        if centers is None:
            cells = size // stride
            ys, xs = np.mgrid[:cells, :cells]
            grid = np.stack([xs, ys], axis=-1).reshape(-1, 2).astype(np.float32) * stride
            centers = np.repeat(grid, anchors, axis=0)
            self._centers[key] = centers
        return centers

    def _finish(
        self, rows: np.ndarray, item: PreparedImage, layout: _Layout
    ) -> list[FaceDetection]:
        if rows.size == 0:
            return []
        keep = nms(rows[:, :4], rows[:, 4], self.nms_threshold)[: self.max_faces]
        detections = []
        bound = np.array([item.width, item.height, item.width, item.height], dtype=np.float32)
        for row in rows[keep]:
            box = np.clip(row[:4], 0, bound).astype(np.float32)
            if box[2] - box[0] < 1 or box[3] - box[1] < 1:
                continue
            points = row[5:].reshape(5, 2).astype(np.float32) if layout.has_landmarks else None
            detections.append(FaceDetection(box=box, score=float(row[4]), landmarks5=points))
        return detections


def _shrink(view: Letterbox, size: int) -> Letterbox:
    """The view at a smaller canvas size. The image sits top-left on the canvas, so scaling
    the whole canvas is the same as letterboxing the original at that size."""
    if view.canvas.shape[0] == size:
        return view
    factor = size / view.canvas.shape[0]
    canvas = cv2.resize(view.canvas, (size, size), interpolation=cv2.INTER_AREA)
    return Letterbox(canvas, view.scale * factor)


def _pad(canvas: np.ndarray, size: int | None) -> np.ndarray:
    """Zero-pad a canvas to a fixed model input size; the letterbox scale is unchanged."""
    if size is None or canvas.shape[0] == size:
        return canvas
    out = np.zeros((size, size, 3), dtype=np.uint8)
    out[: canvas.shape[0], : canvas.shape[1]] = canvas
    return out

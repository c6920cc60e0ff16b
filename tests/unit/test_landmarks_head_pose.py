"""68 landmarks and head pose on real photos, and head pose signs on a synthetic head."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from models.face.landmarks import LANDMARKS68_FROM_106, to_landmarks68


def test_mapping_takes_68_distinct_points():
    assert LANDMARKS68_FROM_106.shape == (68,)
    assert len(set(LANDMARKS68_FROM_106.tolist())) == 68
    assert LANDMARKS68_FROM_106.max() < 106


def test_68_landmarks_follow_the_ibug_markup(faces, landmarks):
    image, [face] = faces("obama.jpg")
    [dense] = landmarks.run([(image, face.box)])
    points = to_landmarks68(dense)
    x1, _, x2, _ = face.box
    width = x2 - x1
    assert np.all(points[:, 0] > x1 - 0.15 * width) and np.all(points[:, 0] < x2 + 0.15 * width)
    jaw = points[:17]
    assert np.all(np.diff(jaw[:9, 1]) > 0) and np.all(np.diff(jaw[8:, 1]) < 0)  # down, then up
    assert np.all(np.diff(jaw[::4, 0]) > 0)  # ear, cheek, chin, cheek, ear: left to right
    brow_y, eye_y = points[17:27, 1].mean(), points[36:48, 1].mean()
    nose_y, mouth_y = points[30, 1], points[48:68, 1].mean()
    assert brow_y < eye_y < nose_y < mouth_y < jaw[8, 1]
    assert points[36:42, 0].mean() < points[42:48, 0].mean()  # eye on the left, then right
    # The 68 points agree with the detector's 5: eye centres and mouth corners.
    assert np.linalg.norm(points[36:42].mean(axis=0) - face.landmarks5[0]) < 0.08 * width
    assert np.linalg.norm(points[42:48].mean(axis=0) - face.landmarks5[1]) < 0.08 * width
    assert np.linalg.norm(points[48] - face.landmarks5[3]) < 0.08 * width


@pytest.mark.parametrize("name", ["obama.jpg", "astronaut.png"])
def test_frontal_faces_have_a_pose_near_zero(faces, landmarks, head_pose, name):
    image, [face] = faces(name)
    [dense] = landmarks.run([(image, face.box)])
    pose = head_pose.estimate(to_landmarks68(dense))
    assert abs(pose.pitch) < 10 and abs(pose.yaw) < 10 and abs(pose.roll) < 10


def test_signs_on_a_synthetic_head(head_pose):
    """Project the 3D mean face turned by known angles; the estimate must give them back."""
    mean = head_pose.mean_shape * np.array([1, 1, -1])  # camera frame: z away from camera

    def turned(axis: int, degrees: float) -> np.ndarray:
        vector = np.zeros(3)
        vector[axis] = np.radians(degrees)
        return cv2.Rodrigues(vector)[0]

    cases = [
        (turned(0, -20), "pitch", 20),  # nose up: chin raised
        (turned(1, -20), "yaw", 20),  # nose towards the image's right
        (turned(2, 20), "roll", 20),  # clockwise in the image
    ]
    for rotation, angle, expected in cases:
        image_points = (mean @ rotation.T)[:, :2] * 200 + 300
        pose = head_pose.estimate(image_points)
        assert getattr(pose, angle) == pytest.approx(expected, abs=1e-6)
        for other in {"pitch", "yaw", "roll"} - {angle}:
            assert getattr(pose, other) == pytest.approx(0, abs=1e-6)


def _poses(detector, landmarks, head_pose, image):
    found = sorted(detector.run([image])[0], key=lambda d: d.box[0])
    dense = landmarks.run([(image, f.box) for f in found])
    return [head_pose.estimate(to_landmarks68(p)) for p in dense]


def test_turning_the_photo_changes_roll_by_that_angle(detector, landmarks, head_pose, photo):
    image = photo("astronaut.png")
    [upright] = _poses(detector, landmarks, head_pose, image)
    for degrees in (-20, 20):
        matrix = cv2.getRotationMatrix2D((256, 256), -degrees, 1.0)  # negative: clockwise
        [turned] = _poses(detector, landmarks, head_pose, cv2.warpAffine(image, matrix, (512, 512)))
        assert turned.roll - upright.roll == pytest.approx(degrees, abs=5)


def test_turned_heads_are_clearly_signed_and_mirror_flips_yaw(
    detector, landmarks, head_pose, photo
):
    image = photo("group_six.jpg")
    poses = _poses(detector, landmarks, head_pose, image)
    mirrored = _poses(detector, landmarks, head_pose, cv2.flip(image, 1))[::-1]
    # Left to right: Rachel, Monica, Ross, Chandler, Joey, Phoebe. Joey looks far to the
    # image's left (towards Chandler), Monica to the image's left too.
    joey, monica = poses[4], poses[1]
    assert joey.yaw < -25 and monica.yaw < -10
    for pose, mirror in zip(poses, mirrored, strict=True):
        assert mirror.yaw == pytest.approx(-pose.yaw, abs=8)
        assert mirror.roll == pytest.approx(-pose.roll, abs=8)

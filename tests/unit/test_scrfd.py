"""The SCRFD adapter on real photos, without Ray."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest

from models.face.scrfd import ScrfdDetector
from models.types import FaceDetection


def contains(box: np.ndarray, point) -> bool:
    x, y = point
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def assert_matches_marked_faces(found: list[FaceDetection], centers: list[list[int]]) -> None:
    """One detection per hand-marked face: each center in exactly one box, no extra boxes."""
    assert len(found) == len(centers)
    for center in centers:
        assert sum(contains(face.box, center) for face in found) == 1, center
    for face in found:
        assert sum(contains(face.box, center) for center in centers) == 1, face.box


def assert_plausible_landmarks(face: FaceDetection) -> None:
    """Landmarks of an upright face: inside the box, eyes above nose above mouth."""
    points = face.landmarks5
    assert points is not None and points.shape == (5, 2)
    x1, y1, x2, y2 = face.box
    margin = 0.1 * (x2 - x1)
    assert np.all(points[:, 0] >= x1 - margin) and np.all(points[:, 0] <= x2 + margin)
    assert np.all(points[:, 1] >= y1 - margin) and np.all(points[:, 1] <= y2 + margin)
    left_eye, right_eye, nose, mouth_left, mouth_right = points
    assert left_eye[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])


@pytest.mark.parametrize(
    "name",
    ["group_six.jpg", "obama.jpg", "biden.jpg", "astronaut.png", "coffee.png", "chelsea.png"],
)
def test_finds_exactly_the_marked_faces(detector, photo, photos, name):
    found = detector.run([photo(name)])[0]
    assert_matches_marked_faces(found, photos[name]["centers"])
    for face in found:
        assert 0.5 <= face.score <= 1.0
        assert_plausible_landmarks(face)


def test_group_photo_boxes_are_face_sized(detector, photo):
    faces = detector.run([photo("group_six.jpg")])[0]
    for face in faces:
        # Faces in this photo are 100-115 px wide; a box of a head or a torso would not be.
        assert 80 <= face.width <= 140 and 100 <= face.height <= 170
        assert 1.0 <= face.height / face.width <= 1.6


def test_small_extra_scale_finds_faces_that_fill_the_frame(models_dir, photo, photos):
    crop = photo("tom_hanks_crop.png")
    single_scale = ScrfdDetector(models_dir / "scrfd_500m_bnkps.onnx", extra_scales=())
    assert single_scale.run([crop])[0] == []
    multi_scale = ScrfdDetector(models_dir / "scrfd_500m_bnkps.onnx", extra_scales=(160,))
    assert_matches_marked_faces(
        multi_scale.run([crop])[0], photos["tom_hanks_crop.png"]["centers"]
    )


def test_batch_of_different_sizes_equals_one_by_one(detector, photo):
    names = ["group_six.jpg", "astronaut.png", "coffee.png", "obama.jpg", "tom_hanks_crop.png"]
    images = [photo(name) for name in names]
    batched = detector.run(images)
    for image, together in zip(images, batched, strict=True):
        alone = detector.run([image])[0]
        assert len(alone) == len(together)
        for a, b in zip(alone, together, strict=True):
            np.testing.assert_allclose(a.box, b.box, atol=0.5)
            np.testing.assert_allclose(a.landmarks5, b.landmarks5, atol=0.5)


def test_coordinates_map_back_to_the_original_image(detector, photo):
    image = photo("astronaut.png")
    small = detector.run([image])[0][0]
    large = detector.run([cv2.resize(image, None, fx=2, fy=2)])[0][0]
    np.testing.assert_allclose(large.box, small.box * 2, atol=6)
    np.testing.assert_allclose(large.landmarks5, small.landmarks5 * 2, atol=6)


def test_score_threshold_filters(models_dir, photo):
    strict = ScrfdDetector(models_dir / "scrfd_500m_bnkps.onnx", score_threshold=0.99)
    assert strict.run([photo("group_six.jpg")])[0] == []


def _export_variant(source: Path, target: Path, batch_one: bool, fixed: int | None) -> Path:
    """Rewrite the model as other exports of the family look: batch-1 outputs without a batch
    axis (as InsightFace's own det_10g.onnx) and/or a fixed input size."""
    model = onnx.load(str(source))
    graph = model.graph
    dims = graph.input[0].type.tensor_type.shape.dim
    if batch_one:
        dims[0].ClearField("dim_param")
        dims[0].dim_value = 1
    if fixed:
        for dim in dims[2:]:
            dim.ClearField("dim_param")
            dim.dim_value = fixed
    if batch_one:
        opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
        for output in graph.output:
            inner = output.name + "_batched"
            for node in graph.node:
                node.output[:] = [inner if name == output.name else name for name in node.output]
            if opset >= 13:  # axes became an input in opset 13
                axes = output.name + "_axes"
                graph.initializer.append(
                    onnx.helper.make_tensor(axes, onnx.TensorProto.INT64, [1], [0])
                )
                squeeze = onnx.helper.make_node("Squeeze", [inner, axes], [output.name])
            else:
                squeeze = onnx.helper.make_node("Squeeze", [inner], [output.name], axes=[0])
            graph.node.append(squeeze)
            shape = output.type.tensor_type.shape
            del shape.dim[0]
    onnx.save(model, str(target))
    return target


@pytest.mark.parametrize("batch_one,fixed", [(True, None), (False, 640), (True, 640)])
def test_other_exports_of_the_family_give_the_same_faces(
    detector, models_dir, photo, tmp_path, batch_one, fixed
):
    path = _export_variant(
        models_dir / "scrfd_500m_bnkps.onnx", tmp_path / "v.onnx", batch_one, fixed
    )
    variant = ScrfdDetector(path)
    images = [photo("group_six.jpg"), photo("tom_hanks_crop.png"), photo("coffee.png")]
    for ours, theirs in zip(detector.run(images), variant.run(images), strict=True):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            # Padding a small view onto a fixed canvas shifts boxes by a pixel or two.
            np.testing.assert_allclose(a.box, b.box, atol=2.0)


def test_fixed_input_smaller_than_configured_scale_is_a_clear_error(models_dir, tmp_path, photo):
    path = _export_variant(models_dir / "scrfd_500m_bnkps.onnx", tmp_path / "v.onnx", False, 320)
    with pytest.raises(ValueError, match="set input_size to 320"):
        ScrfdDetector(path, input_size=640).run([photo("astronaut.png")])


def test_missing_model_file_names_the_provisioning_command(tmp_path, photo):
    from models.runtime import ModelUnavailableError

    with pytest.raises(ModelUnavailableError, match=r"models\.provision"):
        ScrfdDetector(tmp_path / "absent.onnx").run([photo("astronaut.png")])

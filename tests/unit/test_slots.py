"""PLUMBING TESTS of the liveness (MiniFASNet) and body descriptor (OSNet) slots.

No pretrained model of either family ships in a PyPI package, so these tests build RANDOMLY
INITIALISED ONNX graphs with the families' input and output shapes (a small conv + pooling +
gemm) and check what the adapters themselves do: the crop they cut, the tensor layout and
scaling they feed, batching (fixed batch-1 exports too), registry routing of a user's export
named by path, and the shape and normalisation of what they return. They say nothing about
how well a real model detects spoofs or re-identifies people; the scores are meaningless.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from models.body.reid import IMAGENET_MEAN, IMAGENET_STD, OsNetBodyDescriptor  # noqa: E402
from models.face.liveness import MiniFasNetLiveness, scaled_box  # noqa: E402
from models.provision.fetch import sha256_of  # noqa: E402
from models.registry import build_adapter  # noqa: E402


def random_export(
    path: Path, height: int, width: int, outputs: int, batch: int | str = "N", seed: int = 0
) -> Path:
    """A randomly initialised conv + global pool + gemm graph: (batch, 3, H, W) -> (batch, outputs)."""
    rng = np.random.default_rng(seed)
    weights = [
        numpy_helper.from_array(rng.normal(0, 0.1, (8, 3, 3, 3)).astype(np.float32), "conv_w"),
        numpy_helper.from_array(rng.normal(0, 0.1, (8,)).astype(np.float32), "conv_b"),
        numpy_helper.from_array(rng.normal(0, 1.0, (8, outputs)).astype(np.float32), "fc_w"),
        numpy_helper.from_array(rng.normal(0, 0.1, (outputs,)).astype(np.float32), "fc_b"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "conv_w", "conv_b"], ["conv"], strides=[2, 2]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("GlobalAveragePool", ["relu"], ["pool"]),
        helper.make_node("Flatten", ["pool"], ["flat"]),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes,
        "random_slot_model",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, height, width])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [batch, outputs])],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    directory = tmp_path_factory.mktemp("slots")
    return {
        "fas": random_export(directory / "minifasnet_random.onnx", 80, 80, 3),
        "fas_b1": random_export(directory / "minifasnet_random_b1.onnx", 80, 80, 3, batch=1),
        "reid": random_export(directory / "osnet_random.onnx", 256, 128, 512),
        "reid_b1": random_export(directory / "osnet_random_b1.onnx", 256, 128, 512, batch=1),
    }


def _boxes(image, count):
    """Face-sized boxes spread over the photo, some reaching past its edges."""
    height, width = image.shape[:2]
    rng = np.random.default_rng(1)
    out = []
    for _ in range(count):
        x, y = rng.uniform(-40, width - 40), rng.uniform(-40, height - 40)
        size = rng.uniform(40, 200)
        out.append(np.array([x, y, x + size, y + size * 1.2], dtype=np.float32))
    return out


# --- liveness (MiniFASNet) -------------------------------------------------------------


def test_minifasnet_crop_is_the_box_scaled_by_2_7_and_kept_inside():
    # A 100x120 box in the middle of a 1000x800 image: 270x324 about the same centre.
    assert scaled_box([450, 340, 550, 460], 1000, 800, 2.7) == (365, 238, 635, 562)
    # Near the left/top edge the crop is shifted inside, not cut.
    left, top, right, bottom = scaled_box([0, 0, 100, 120], 1000, 800, 2.7)
    assert (left, top) == (0, 0) and (right, bottom) == (270, 324)
    # In a small image the scale is capped so that the crop fits.
    left, top, right, bottom = scaled_box([20, 20, 80, 80], 100, 100, 2.7)
    assert (left, top) >= (0, 0) and (right, bottom) <= (99, 99)


def test_minifasnet_feeds_bgr_0_255_crops(exports, faces):
    """The crop is the BGR pixels of the scaled box, unnormalised, at 80x80."""
    adapter = MiniFasNetLiveness(exports["fas"])
    image, [face] = faces("obama.jpg")
    crop = adapter.prepare((image, face.box))
    assert crop.shape == (80, 80, 3) and crop.dtype == np.uint8
    left, top, right, bottom = scaled_box(face.box, image.shape[1], image.shape[0], 2.7)
    region = image[top : bottom + 1, left : right + 1]
    # Same mean colour per channel as the region it was resized from (BGR order kept).
    assert np.allclose(crop.reshape(-1, 3).mean(0), region.reshape(-1, 3).mean(0), atol=3)


@pytest.mark.parametrize("variant", ["fas", "fas_b1"])
def test_minifasnet_batches_give_the_single_results(exports, photo, variant):
    adapter = MiniFasNetLiveness(exports[variant])
    image = photo("group_six.jpg")
    items = [(image, box) for box in _boxes(image, 16)]
    batch = adapter.run(items)
    single = [adapter.run([item])[0] for item in items]
    assert len(batch) == 16
    for a, b in zip(batch, single, strict=True):
        assert len(a.probabilities) == 3
        assert sum(a.probabilities) == pytest.approx(1.0, abs=1e-5)
        assert 0.0 <= a.score <= 1.0 and a.score == a.probabilities[1]
        assert a.prediction == int(a.score >= 0.5)
        assert a.score == pytest.approx(b.score, abs=1e-5)
    assert adapter.run([]) == []


def test_minifasnet_export_ending_in_softmax_is_not_softmaxed_twice(exports, photo):
    image = photo("obama.jpg")
    raw = MiniFasNetLiveness(exports["fas"], softmax=False).run([(image, [400, 150, 600, 380])])
    soft = MiniFasNetLiveness(exports["fas"]).run([(image, [400, 150, 600, 380])])
    logits = np.array(raw[0].probabilities)
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    assert np.allclose(soft[0].probabilities, expected, atol=1e-6)


# --- body descriptor (OSNet) -----------------------------------------------------------


def test_osnet_feeds_256x128_imagenet_normalised_rgb(exports, photo):
    adapter = OsNetBodyDescriptor(exports["reid"])
    image = photo("group_six.jpg")
    box = [250, 100, 420, 520]
    tensor = adapter.prepare((image, box))
    assert tensor.shape == (3, 256, 128) and tensor.dtype == np.float32
    # Undo the normalisation: the mean colour is the box's, in RGB order.
    rgb = tensor.transpose(1, 2, 0) * IMAGENET_STD + IMAGENET_MEAN
    region = image[100:520, 250:420][..., ::-1] / 255.0
    assert np.allclose(rgb.reshape(-1, 3).mean(0), region.reshape(-1, 3).mean(0), atol=0.01)


@pytest.mark.parametrize("variant", ["reid", "reid_b1"])
def test_osnet_batches_unit_512_descriptors(exports, photo, variant):
    adapter = OsNetBodyDescriptor(exports[variant])
    image = photo("group_six.jpg")
    items = [(image, box) for box in _boxes(image, 16)]
    batch = adapter.run(items)
    assert len(batch) == 16
    for item, result in zip(items, batch, strict=True):
        assert result.vector.shape == (512,) and result.vector.dtype == np.float32
        assert np.linalg.norm(result.vector) == pytest.approx(1.0, abs=1e-5)
        assert result.norm > 0
        [alone] = adapter.run([item])
        assert np.allclose(alone.vector, result.vector, atol=1e-5)
    # Different crops give different descriptors (the plumbing does not collapse them).
    assert not np.allclose(batch[0].vector, batch[1].vector)


# --- a user's export, named by path, through the registry -------------------------------


@pytest.mark.parametrize(
    ("task", "family", "key", "cls"),
    [
        ("liveness", "minifasnet", "fas", MiniFasNetLiveness),
        ("body_descriptor", "osnet", "reid", OsNetBodyDescriptor),
    ],
)
def test_registry_builds_the_slot_from_a_users_export(exports, tmp_path, task, family, key, cls):
    path = exports[key]
    extra = {
        "my_model": {
            "task": task,
            "family": family,
            "file": path.name,
            "sha256": sha256_of(path),
            "source": {"path": str(path)},
            "license": "the user's own",
        }
    }
    adapter = build_adapter(task, {"model": "my_model"}, path.parent, manifest_extra=extra)
    assert isinstance(adapter, cls)
    assert adapter.describe()["models"] == [path.name]

"""Converted models: manifest form, provisioning flow, verification and the ONNX fixes.

None of this needs TensorFlow: the converter environment is replaced by this interpreter
running a stand-in worker that writes a small ONNX graph and the "original" outputs, so the
real job file, subprocess, onnxruntime verification, sha256 check and atomic install are
exercised. The graph fixes of convert_worker.py use only numpy and onnx and are checked
here numerically against onnxruntime.
"""

from __future__ import annotations

import hashlib
import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import yaml
from onnx import TensorProto, helper, numpy_helper

from models import provision
from models.provision import convert, convert_worker
from models.provision.convert import ConvertError, ConvertSpec, convert_file, provision_converted
from models.provision.manifest import ManifestError, load_manifest

# --- manifest form ----------------------------------------------------------------------


def test_packaged_converted_models_name_both_checksums():
    manifest = load_manifest()
    for name, fmt in [("face_mask_mobilenetv2", "keras_h5"), ("facex_emotions", "tflite")]:
        entry = manifest[name]
        assert entry.convert is not None and entry.convert.source_format == fmt
        assert entry.source_sha256 and entry.source_sha256 != entry.sha256
        assert entry.file.endswith(".onnx")
        assert entry.convert.verify.image is not None  # a real face, not only noise
    assert manifest["facex_emotions"].convert.fixes == (
        "tflite_uint8_weights_as_int8",
        "dequantize_weights",
        "dynamic_batch",
    )
    # files that need no conversion are as before
    assert manifest["scrfd_500m_bnkps"].convert is None
    assert manifest["scrfd_500m_bnkps"].source_sha256 is None


def _entry(**extra):
    base = {
        "task": "emotions",
        "family": "x",
        "file": "x.onnx",
        "sha256": "a" * 64,
        "source": {"path": "/nowhere/x.tflite"},
    }
    return {"x": {**base, **extra}}


@pytest.mark.parametrize(
    "extra,message",
    [
        ({"convert": {"from": "tflite"}}, "needs source_sha256"),
        ({"source_sha256": "b" * 64}, "belongs with convert"),
        ({"source_sha256": "xyz", "convert": {"from": "tflite"}}, "64 hex digits"),
        ({"source_sha256": "b" * 64, "convert": {"from": "pytorch"}}, "convert.from"),
        ({"source_sha256": "b" * 64, "convert": {"from": "tflite", "fixes": ["magic"]}}, "unknown fixes"),
        ({"source_sha256": "b" * 64, "convert": {"from": "tf_graph"}}, "needs inputs and outputs"),
        ({"source_sha256": "b" * 64, "convert": {"from": "tflite", "opset": 17, "x": 1}}, "unknown convert keys"),
        ({"source_sha256": "b" * 64, "convert": {"from": "tflite", "verify": {"image": {"path": "/a.jpg"}}}}, "image_sha256"),
        ({"source_sha256": "b" * 64, "convert": {"from": "tflite", "verify": {"channels": "cmyk"}}}, "channels"),
    ],
)
def test_malformed_convert_entries_are_rejected(extra, message):
    with pytest.raises(ManifestError, match=message):
        load_manifest(_entry(**extra))


def test_a_full_convert_entry_parses():
    entry = load_manifest(
        _entry(
            source_sha256="B" * 64,
            convert={
                "from": "tf_graph",
                "member": "inner/model.pb",
                "inputs": ["image_tensor:0"],
                "outputs": ["boxes:0", "scores:0"],
                "opset": 13,
                "fixes": ["dynamic_batch"],
                "verify": {
                    "tolerance": 1e-3,
                    "image": {"pypi": "pkg==1.0", "member": "pkg/face.jpg"},
                    "image_sha256": "c" * 64,
                    "box": [1, 2, 3, 4],
                    "channels": "grey",
                    "range": [-1, 1],
                    "shapes": {"image_tensor:0": [1, 300, 300, 3]},
                    "seed": 7,
                },
            },
        )
    )["x"]
    spec = entry.convert
    assert entry.source_sha256 == "b" * 64
    assert (spec.source_format, spec.member, spec.opset) == ("tf_graph", "inner/model.pb", 13)
    assert spec.inputs == ("image_tensor:0",) and spec.outputs == ("boxes:0", "scores:0")
    assert spec.verify.box == (1, 2, 3, 4) and spec.verify.range == (-1.0, 1.0)
    assert spec.verify.shapes == {"image_tensor:0": [1, 300, 300, 3]}


# --- the provisioning flow, with a stand-in converter -----------------------------------

# Stands in for convert_worker.py: the "source file" is JSON saying what graph to write
# (y = x * factor, batch axis open) and what the original runtime "answered" (x * answer).
FAKE_WORKER = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    job = json.load(open(sys.argv[1]))
    plan = json.load(open(job["source"]))
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])
    k = numpy_helper.from_array(np.array(plan["factor"], np.float32), "k")
    graph = helper.make_graph([helper.make_node("Mul", ["x", "k"], ["y"])], "g", [x], [y], [k])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    open(job["output"], "wb").write(model.SerializeToString(deterministic=True))
    rng = np.random.default_rng(job["verify"]["seed"])
    arrays = {}
    for case in range(2):
        inp = rng.uniform(0, 1, (1, 4)).astype(np.float32)
        arrays[f"case{case}_in0"] = inp
        arrays[f"case{case}_out0"] = inp * plan["answer"]
    np.savez(job["reference"], **arrays)
    print(json.dumps({"fixes": {f: 1 for f in job["fixes"]}}))
    """
)


@pytest.fixture
def fake_converter(tmp_path, monkeypatch):
    worker = tmp_path / "fake_worker.py"
    worker.write_text(FAKE_WORKER)
    monkeypatch.setattr(convert, "WORKER", worker)
    built = []

    def ensure(venv=None, progress=print):
        built.append(venv)
        return Path(sys.executable)

    monkeypatch.setattr(convert, "ensure_converter", ensure)
    return built


def _converted_sha(factor: float) -> str:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])
    k = numpy_helper.from_array(np.array(factor, np.float32), "k")
    graph = helper.make_graph([helper.make_node("Mul", ["x", "k"], ["y"])], "g", [x], [y], [k])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return hashlib.sha256(model.SerializeToString(deterministic=True)).hexdigest()


def _manifest_entry(tmp_path, factor=2.0, answer=2.0, sha=None, tolerance=1e-4):
    source = tmp_path / "model.tflite"
    source.write_text(json.dumps({"factor": factor, "answer": answer}))
    data = {
        "task": "emotions",
        "family": "facex_emotions",
        "file": "converted.onnx",
        "sha256": sha or _converted_sha(factor),
        "source": {"path": str(source)},
        "source_sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
        "convert": {"from": "tflite", "fixes": ["dynamic_batch"], "verify": {"tolerance": tolerance}},
        "license": "MIT",
    }
    return load_manifest({"fake": data})["fake"]


def test_converted_once_then_left_alone(tmp_path, fake_converter):
    entry = _manifest_entry(tmp_path)
    dest = tmp_path / "models" / "converted.onnx"
    messages: list[str] = []
    assert provision_converted(entry, dest, tmp_path / "cache", progress=messages.append)
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == entry.sha256
    report = "\n".join(messages)
    assert "verified against the original runtime" in report
    assert "and as one batch" in report  # the batch axis is open: a batch was checked too
    assert len(fake_converter) == 1
    # Present and right: no fetch, no converter (the source may even be gone).
    Path(entry.source.path).unlink()
    assert not provision_converted(entry, dest, tmp_path / "cache", progress=messages.append)
    assert len(fake_converter) == 1
    assert sorted(p.name for p in dest.parent.iterdir()) == ["converted.onnx"]


def test_a_conversion_that_disagrees_with_the_original_is_not_installed(tmp_path, fake_converter):
    entry = _manifest_entry(tmp_path, factor=2.0, answer=2.5)
    dest = tmp_path / "models" / "converted.onnx"
    with pytest.raises(ConvertError, match="differs from the original runtime"):
        provision_converted(entry, dest, tmp_path / "cache", progress=lambda _: None)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []  # no work folder left behind


def test_tolerance_is_the_stated_bound(tmp_path, fake_converter):
    entry = _manifest_entry(tmp_path, factor=2.0, answer=2.01, tolerance=0.05)
    dest = tmp_path / "models" / "converted.onnx"
    assert provision_converted(entry, dest, tmp_path / "cache", progress=lambda _: None)


def test_a_conversion_with_another_sha256_is_not_installed(tmp_path, fake_converter):
    entry = _manifest_entry(tmp_path, sha="0" * 64)
    dest = tmp_path / "models" / "converted.onnx"
    dest.parent.mkdir()
    dest.write_bytes(b"an older file")
    with pytest.raises(ConvertError, match=f"has sha256 {_converted_sha(2.0)}"):
        provision_converted(entry, dest, tmp_path / "cache", progress=lambda _: None)
    assert dest.read_bytes() == b"an older file"


def test_a_wrong_source_is_refused_before_converting(tmp_path, fake_converter):
    entry = _manifest_entry(tmp_path)
    Path(entry.source.path).write_text(json.dumps({"factor": 3.0, "answer": 3.0}))
    with pytest.raises(Exception, match="sha256 mismatch"):
        provision_converted(entry, tmp_path / "m.onnx", tmp_path / "cache", progress=print)
    assert fake_converter == []


def test_provision_command_converts_configured_models(tmp_path, fake_converter, monkeypatch, capsys):
    monkeypatch.setenv("LUNA_DATA_DIR", str(tmp_path / "data"))
    entry = _manifest_entry(tmp_path)
    config = {
        "applications": [
            {
                "args": {
                    "estimators": {"emotions": {"model": "my_emotions"}},
                    "models": {
                        "my_emotions": {
                            "task": "emotions",
                            "family": "facex_emotions",
                            "file": "converted.onnx",
                            "sha256": entry.sha256,
                            "source": {"path": entry.source.path},
                            "source_sha256": entry.source_sha256,
                            "convert": {"from": "tflite"},
                            "license": "MIT",
                        }
                    },
                }
            }
        ]
    }
    path = tmp_path / "serve.yaml"
    path.write_text(yaml.safe_dump(config))
    argv = ["--config", str(path), "--models-dir", str(tmp_path / "models")]
    assert provision.main(argv) == 0
    assert "converted from tflite" in capsys.readouterr().out
    assert provision.main(argv) == 0
    assert "present" in capsys.readouterr().out


def test_member_inside_a_zip_source_is_converted(tmp_path, fake_converter):
    import zipfile

    plan = json.dumps({"factor": 2.0, "answer": 2.0})
    task = tmp_path / "model.task"
    with zipfile.ZipFile(task, "w") as zf:
        zf.writestr("inner.tflite", plan)
    spec = ConvertSpec.from_dict({"from": "tflite", "member": "inner.tflite"})
    result = convert_file(spec, task, tmp_path / "out.onnx", progress=lambda _: None)
    assert result.sha256 == _converted_sha(2.0) and result.cases == 2 and result.batched
    bad = ConvertSpec.from_dict({"from": "tflite", "member": "absent.tflite"})
    with pytest.raises(ConvertError, match=r"absent\.tflite"):
        convert_file(bad, task, tmp_path / "out2.onnx", progress=lambda _: None)


def test_converter_environment_is_reused_while_its_pins_hold(tmp_path, monkeypatch):
    venv = tmp_path / "converter-venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")
    (venv / "luna-requirements.txt").write_text("\n".join(convert.REQUIREMENTS) + "\n")
    commands: list[list[str]] = []

    def run(command, what, env=None):
        commands.append(command)
        if command[1:3] == ["-m", "venv"]:
            Path(command[3]).mkdir(parents=True)

    monkeypatch.setattr(convert, "_run", run)
    assert convert.ensure_converter(venv, progress=lambda _: None) == venv / "bin" / "python"
    assert commands == []
    # A changed pin list (or a build cut short, with no stamp) rebuilds it from scratch.
    (venv / "luna-requirements.txt").write_text("tensorflow-cpu==0.0\n")
    convert.ensure_converter(venv, progress=lambda _: None)
    assert [c[1:3] for c in commands] == [["-m", "venv"], ["-m", "pip"]]
    assert (venv / "requirements.txt").read_text().splitlines() == list(convert.REQUIREMENTS)
    assert (venv / "luna-requirements.txt").read_text() == "\n".join(convert.REQUIREMENTS) + "\n"


def test_two_provisioning_runs_at_once_build_the_converter_environment_once(
    tmp_path, monkeypatch
):
    import threading
    import time

    venv = tmp_path / "converter-venv"
    builds: list[str] = []

    def run(command, what, env=None):
        if command[1:3] == ["-m", "venv"]:
            builds.append(what)
            Path(command[3], "bin").mkdir(parents=True)
            time.sleep(0.3)  # a slow build: the other run must wait for it, not start its own
            Path(command[3], "bin", "python").write_text("")

    monkeypatch.setattr(convert, "_run", run)
    results: list[Path] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(convert.ensure_converter(venv, progress=lambda _: None))
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert builds == ["create the converter environment"]
    assert results == [venv / "bin" / "python"] * 2
    assert (tmp_path / "converter-venv.lock").exists()


def test_pins_are_exact_and_name_the_converter_stack():
    names = {r.split("==")[0] for r in convert.REQUIREMENTS}
    assert all("==" in r for r in convert.REQUIREMENTS)
    assert {"tensorflow-cpu", "tf-keras", "tf2onnx", "onnx", "numpy", "protobuf"} <= names


# --- the graph fixes (numpy + onnx only), against onnxruntime ----------------------------


def _run(model: onnx.ModelProto, **feeds) -> list[np.ndarray]:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options)
    return session.run(None, feeds)


def _model(nodes, inputs, outputs, initializers) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def test_uint8_hybrid_weights_are_read_as_int8():
    rng = np.random.default_rng(0)
    weights = rng.integers(-127, 128, size=(4, 3)).astype(np.int8)
    scale = np.float32(0.05)
    # As tf2onnx writes old hybrid TFLite weights: the int8 bytes typed uint8, zero point 0;
    # plus a genuine asymmetric uint8 tensor (zero point 128) that must stay as it is.
    asym = rng.integers(0, 256, size=(3, 3)).astype(np.uint8)
    inits = [
        numpy_helper.from_array(weights.view(np.uint8), "w"),
        numpy_helper.from_array(scale, "s"),
        numpy_helper.from_array(np.uint8(0), "z"),
        numpy_helper.from_array(asym, "w2"),
        numpy_helper.from_array(np.uint8(128), "z2"),
    ]
    nodes = [
        helper.make_node("DequantizeLinear", ["w", "s", "z"], ["wf"]),
        helper.make_node("MatMul", ["x", "wf"], ["h"]),
        helper.make_node("DequantizeLinear", ["w2", "s", "z2"], ["w2f"]),
        helper.make_node("MatMul", ["h", "w2f"], ["y"]),
    ]
    x_info = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y_info = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])
    model = _model(nodes, [x_info], [y_info], inits)
    x = rng.uniform(-1, 1, (1, 4)).astype(np.float32)
    expected = (x @ (weights.astype(np.float32) * scale)) @ ((asym.astype(np.float32) - 128) * scale)
    assert not np.allclose(_run(model, x=x)[0], expected, atol=1e-3)  # wrong before the fix
    assert convert_worker.fix_tflite_uint8_weights_as_int8(model, {}) == 1
    np.testing.assert_allclose(_run(model, x=x)[0], expected, atol=1e-4)


def test_quantised_constant_weights_are_stored_as_float():
    rng = np.random.default_rng(2)
    weights = rng.integers(-127, 128, size=(3, 2)).astype(np.int8)
    scales = np.array([0.1, 0.02], np.float32)  # per output column (axis 1)
    zeros = np.array([0, 3], np.int8)
    nodes = [
        helper.make_node("DequantizeLinear", ["w", "s", "z"], ["wf"], axis=1),
        helper.make_node("MatMul", ["x", "wf"], ["y"]),
    ]
    model = _model(
        nodes,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        [
            numpy_helper.from_array(weights, "w"),
            numpy_helper.from_array(scales, "s"),
            numpy_helper.from_array(zeros, "z"),
        ],
    )
    x = rng.uniform(-1, 1, (1, 3)).astype(np.float32)
    expected = x @ ((weights.astype(np.float32) - zeros) * scales)
    # (onnxruntime may fuse DequantizeLinear + MatMul into a kernel that also quantises
    # the activations: close to, not equal to, the float product)
    np.testing.assert_allclose(_run(model, x=x)[0], expected, atol=0.05)
    assert convert_worker.fix_dequantize_weights(model, {}) == 1
    assert [n.op_type for n in model.graph.node] == ["MatMul"]
    assert {t.data_type for t in model.graph.initializer} == {TensorProto.FLOAT}
    np.testing.assert_allclose(_run(model, x=x)[0], expected, atol=1e-5)


def test_conv2d_transpose_bias_becomes_conv_transpose(monkeypatch):
    rng = np.random.default_rng(1)
    n_in, n_out, h, w = 3, 2, 4, 5
    weights = rng.normal(size=(n_out, 2, 2, n_in)).astype(np.float32)  # OHWI, as TFLite
    bias = rng.normal(size=n_out).astype(np.float32)
    x = rng.normal(size=(1, h, w, n_in)).astype(np.float32)  # NHWC
    node = helper.make_node(
        "TFL_Convolution2DTransposeBias", ["x", "w", "b"], ["y"], name="segment"
    )
    model = _model(
        [node],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, h, w, n_in])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2 * h, 2 * w, n_out])],
        [numpy_helper.from_array(weights, "w"), numpy_helper.from_array(bias, "b")],
    )
    # (padding, stride_w, stride_h) as the TFLite file's custom options would give them
    monkeypatch.setattr(convert_worker, "_transpose_conv_params", lambda path: [(1, 2, 2)])
    assert convert_worker.fix_conv2d_transpose_bias(model, {"source": "unused"}) == 1
    assert "TFL_Convolution2DTransposeBias" not in {n.op_type for n in model.graph.node}
    onnx.checker.check_model(model)
    # Stride 2 with a 2x2 kernel: every input pixel paints its own 2x2 block of the output.
    expected = np.zeros((1, 2 * h, 2 * w, n_out), np.float32)
    for a in range(2):
        for b in range(2):
            expected[0, a::2, b::2, :] = x[0] @ weights[:, a, b, :].T
    expected += bias
    np.testing.assert_allclose(_run(model, x=x)[0], expected, atol=1e-5)


def test_transpose_conv_with_other_strides_is_refused(monkeypatch):
    node = helper.make_node("TFL_Convolution2DTransposeBias", ["x", "w", "b"], ["y"])
    model = _model(
        [node],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 2, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6, 6, 1])],
        [
            numpy_helper.from_array(np.ones((1, 3, 3, 1), np.float32), "w"),
            numpy_helper.from_array(np.zeros(1, np.float32), "b"),
        ],
    )
    monkeypatch.setattr(convert_worker, "_transpose_conv_params", lambda path: [(1, 2, 2)])
    with pytest.raises(convert_worker.WorkerError, match="kernel 3x3"):
        convert_worker.fix_conv2d_transpose_bias(model, {"source": "unused"})


def test_dynamic_batch_opens_the_batch_axis():
    shape = numpy_helper.from_array(np.array([1, 6], np.int64), "shape")
    model = _model(
        [helper.make_node("Reshape", ["x", "shape"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6])],
        [shape],
    )
    assert convert_worker.fix_dynamic_batch(model, {}) == 3
    x = np.arange(24, dtype=np.float32).reshape(4, 2, 3)
    np.testing.assert_array_equal(_run(model, x=x)[0], x.reshape(4, 6))


def test_canonical_names_make_equal_graphs_equal_bytes():
    def build(names):
        k1, k2 = names
        return _model(
            [helper.make_node("Mul", ["x", k1], ["h"]), helper.make_node("Add", ["h", k2], ["y"])],
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
            # initializers listed in different orders, under different names
            [numpy_helper.from_array(np.float32(3), k1), numpy_helper.from_array(np.float32(1), k2)][
                :: 1 if k1 < k2 else -1
            ],
        )

    first, second = build(("Relu6_min__27", "Relu6_max__435")), build(("a__202", "b__28"))
    assert first.SerializeToString() != second.SerializeToString()
    for model in (first, second):
        convert_worker.canonicalize(model)
    assert first.SerializeToString(deterministic=True) == second.SerializeToString(deterministic=True)
    np.testing.assert_allclose(_run(first, x=np.ones(2, np.float32))[0], [4, 4])


def _branches(order: str, names: dict[str, str]) -> onnx.ModelProto:
    """y = relu(x * k) + sigmoid(x * k) + loop(x): parallel branches, named and listed as
    ``names``/``order`` say (tf2onnx's runs differ in exactly these), same computation."""
    n = names
    body = helper.make_graph(
        [
            helper.make_node("Add", [n["acc"], n["mul_a"]], [n["acc_out"]], name=n["body_add"]),
            helper.make_node("Identity", [n["cond"]], [n["cond_out"]], name=n["body_id"]),
        ],
        "body",
        [
            helper.make_tensor_value_info(n["iter"], TensorProto.INT64, []),
            helper.make_tensor_value_info(n["cond"], TensorProto.BOOL, []),
            helper.make_tensor_value_info(n["acc"], TensorProto.FLOAT, [2]),
        ],
        [
            helper.make_tensor_value_info(n["cond_out"], TensorProto.BOOL, []),
            helper.make_tensor_value_info(n["acc_out"], TensorProto.FLOAT, [2]),
        ],
    )
    nodes = {
        # twins: the same op on the same inputs, told apart only by what they feed
        "mul_a": helper.make_node("Mul", ["x", n["k"]], [n["mul_a"]], name=n["mul_a"]),
        "mul_b": helper.make_node("Mul", ["x", n["k"]], [n["mul_b"]], name=n["mul_b"]),
        "relu": helper.make_node("Relu", [n["mul_a"]], [n["relu"]], name=n["relu"]),
        "sig": helper.make_node("Sigmoid", [n["mul_b"]], [n["sig"]], name=n["sig"]),
        "loop": helper.make_node("Loop", [n["trips"], "", "x"], [n["loop"]], body=body,
                                 name=n["loop"]),
        "sum": helper.make_node("Sum", [n["relu"], n["sig"], n["loop"]], ["y"], name=n["sum"]),
    }  # fmt: skip
    inits = {
        "k": numpy_helper.from_array(np.array([2, 3], np.float32), n["k"]),
        "trips": numpy_helper.from_array(np.array(3, np.int64), n["trips"]),
    }
    model = _model(
        [nodes[key] for key in order.split()],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
        [inits["trips"], inits["k"]] if "loop" in order.split()[:3] else list(inits.values()),
    )
    return model


def test_canonical_order_makes_branch_orders_and_names_equal_bytes():
    keys = ["k", "trips", "mul_a", "mul_b", "relu", "sig", "loop", "sum", "iter", "cond", "acc",
            "acc_out", "cond_out", "body_add", "body_id"]  # fmt: skip
    first = _branches("mul_a mul_b relu sig loop sum", {k: f"{k}__5" for k in keys})
    second = _branches("loop mul_b sig mul_a relu sum", {k: f"tf_{k}_{7 * i}" for i, k in
                                                        enumerate(keys)})  # fmt: skip
    x = np.array([0.5, -1.0], np.float32)
    expected = _run(first, x=x)[0]
    np.testing.assert_allclose(_run(second, x=x)[0], expected)
    assert first.SerializeToString() != second.SerializeToString()
    for model in (first, second):
        convert_worker.canonicalize(model)
        onnx.checker.check_model(model, full_check=True)
    assert first.SerializeToString(deterministic=True) == second.SerializeToString(deterministic=True)
    np.testing.assert_allclose(_run(first, x=x)[0], expected)  # the same computation
    graph = first.graph
    assert [v.name for v in graph.input] == ["x"] and [v.name for v in graph.output] == ["y"]
    assert [n.name for n in graph.node] == [f"{n.op_type}_{k}" for k, n in enumerate(graph.node)]
    assert sorted(t.name for t in graph.initializer) == ["const_0", "const_1"]
    loop = next(n for n in graph.node if n.op_type == "Loop")
    body = loop.attribute[0].g
    assert all(v.name.startswith(f"{loop.name}/body/") for v in [*body.input, *body.output])
    # the twin Mul feeding Relu comes out the same in both, whichever was listed first
    relu = next(n for n in graph.node if n.op_type == "Relu")
    assert relu.input[0] in {n.output[0] for n in graph.node if n.op_type == "Mul"}

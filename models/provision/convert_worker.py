"""The part of a model conversion that runs inside the converter environment.

``models/provision/convert.py`` runs this file with the converter environment's Python
(pinned TensorFlow, tf-keras, tf2onnx, onnx, numpy): ``python convert_worker.py JOB.json``.
It converts one Keras HDF5 file, TF frozen graph or TFLite file to ONNX with tf2onnx,
applies the named fixes, gives nodes a canonical order and nodes, values and constants
canonical names (so that the same pinned versions write the same bytes), and runs the
ORIGINAL runtime (tf-keras, a TF session, the TFLite interpreter) on the verification
inputs. It saves those inputs and the original outputs; the caller runs the ONNX file with
onnxruntime and compares. It prints one JSON line with what it did.

Standalone on purpose: the converter environment has none of the service's packages, and
the service's environment has no TensorFlow. Only the standard library, numpy, onnx,
tensorflow, tf_keras and tf2onnx are imported.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import struct
import sys
from typing import Any

# Quiet, CPU-only TensorFlow; tf-keras (Keras 2) reads the HDF5 files Keras 2 wrote.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
# TensorFlow's plain kernels rather than oneDNN's, whose results may depend on the CPU's
# instruction set: constants folded while converting should not differ between machines.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CUSTOM_TRANSPOSE_CONV = ("TFL_Convolution2DTransposeBias", "Convolution2DTransposeBias")


class WorkerError(RuntimeError):
    """The conversion cannot be done as asked."""


# ---------------------------------------------------------------------------------------
# Conversion


def _deterministic_tf2onnx_nodes() -> None:
    """Hash tf2onnx's graph nodes by creation order instead of by memory address.

    tf2onnx's ``Node`` has Python's default, ``id()``-based hash, and its optimizers walk
    sets of nodes: the walk order then follows memory addresses, which differ from run to
    run (PYTHONHASHSEED does not pin them), and so does which Transpose/Reshape gets pushed
    where. Measured on selfie_segmentation.tflite: differently SHAPED graphs across runs
    (24 or 25 Reshape nodes), all correct. A per-node sequence number as the hash (equality
    stays identity) makes that walk order the same every run; canonicalize() then removes
    what remains (counters in names, the order of parallel branches).
    """
    import itertools

    from tf2onnx import graph as tf2onnx_graph

    node_class = tf2onnx_graph.Node
    if getattr(node_class, "_luna_sequenced", False):
        return
    counter = itertools.count()
    original_init = node_class.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        self._luna_sequence = next(counter)
        original_init(self, *args, **kwargs)

    node_class.__init__ = init
    node_class.__hash__ = lambda self: self._luna_sequence
    node_class._luna_sequenced = True


def convert(job: dict[str, Any]) -> tuple[onnx.ModelProto, Any]:
    """The ONNX model of the job's source file, and a handle for running the original."""
    import tensorflow as tf
    import tf2onnx

    _deterministic_tf2onnx_nodes()

    kind, source, opset = job["from"], job["source"], int(job["opset"])
    if kind == "keras_h5":
        import tf_keras

        model = tf_keras.models.load_model(source, compile=False)
        signature = [
            tf.TensorSpec([None, *t.shape[1:]], t.dtype, name=_plain(t.name))
            for t in model.inputs
        ]
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=opset)
        return proto, model
    if kind == "tf_graph":
        if not job["inputs"] or not job["outputs"]:
            raise WorkerError("a TF graph needs its input and output tensor names")
        graph_def = tf.compat.v1.GraphDef()
        with open(source, "rb") as stream:
            graph_def.ParseFromString(stream.read())
        proto, _ = tf2onnx.convert.from_graph_def(
            graph_def, input_names=job["inputs"], output_names=job["outputs"], opset=opset
        )
        return proto, graph_def
    if kind == "tflite":
        proto, _ = tf2onnx.convert.from_tflite(
            source,
            input_names=job["inputs"] or None,
            output_names=job["outputs"] or None,
            opset=opset,
        )
        with open(source, "rb") as stream:
            return proto, stream.read()
    raise WorkerError(f"unknown source format {kind!r}")


def _plain(name: str) -> str:
    return name.split(":")[0]


# ---------------------------------------------------------------------------------------
# Fixes: each takes the ONNX model (and the job) and returns how many places it changed.


def fix_tflite_uint8_weights_as_int8(model: onnx.ModelProto, job: dict[str, Any]) -> int:
    """Reinterpret uint8 weights with zero point 0 as int8.

    Old TFLite "hybrid" (weight-only) quantisation stores symmetric int8 weights in tensors
    typed UINT8 with zero point 0; TFLite's hybrid kernels read the bytes as int8. tf2onnx
    takes the declared type, so every negative weight becomes 128..255 and the network
    answers garbage without an error. The same bytes, typed int8, are the real weights.
    Weights with a non-zero zero point are genuine asymmetric uint8 and are left alone.
    """
    inits = {t.name: t for t in model.graph.initializer}
    changed = 0
    for node in model.graph.node:
        if node.op_type != "DequantizeLinear" or len(node.input) < 3:
            continue
        weights, zero = inits.get(node.input[0]), inits.get(node.input[2])
        if weights is None or zero is None or weights.data_type != TensorProto.UINT8:
            continue
        zero_point = numpy_helper.to_array(zero)
        if np.any(zero_point != 0):
            continue
        as_int8 = numpy_helper.to_array(weights).view(np.int8)
        weights.CopyFrom(numpy_helper.from_array(as_int8, weights.name))
        zero.CopyFrom(numpy_helper.from_array(zero_point.view(np.int8), zero.name))
        changed += 1
    return changed


def fix_dequantize_weights(model: onnx.ModelProto, job: dict[str, Any]) -> int:
    """Store quantised constant weights as float: fold DequantizeLinear of constants.

    onnxruntime does not constant-fold DequantizeLinear (it keeps QDQ patterns for its
    quantised kernels, some of which also quantise the activations): facex's graph ran at
    25 ms a face that way and 11.5 ms with float weights, both as close to the TFLite
    interpreter (differences equal to 1e-3 on 10 inputs). The file grows about 4x. List it
    after ``tflite_uint8_weights_as_int8``: fixes apply in the order given.
    """
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    changed = 0
    for index in range(len(graph.node) - 1, -1, -1):
        node = graph.node[index]
        if node.op_type != "DequantizeLinear" or not all(n in inits for n in node.input if n):
            continue
        values = numpy_helper.to_array(inits[node.input[0]]).astype(np.float32)
        scale = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
        zero = np.zeros_like(scale)
        if len(node.input) > 2 and node.input[2]:
            zero = numpy_helper.to_array(inits[node.input[2]]).astype(np.float32)
        if scale.ndim == 1 and scale.size > 1:  # per-axis: scale and zero point along `axis`
            axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
            shape = [1] * values.ndim
            shape[axis % values.ndim] = -1
            scale, zero = scale.reshape(shape), zero.reshape(shape)
        weights = ((values - zero) * scale).astype(np.float32)
        graph.initializer.append(numpy_helper.from_array(weights, node.output[0]))
        del graph.node[index]
        changed += 1
    _drop_unused_initializers(graph)
    return changed


def fix_conv2d_transpose_bias(model: onnx.ModelProto, job: dict[str, Any]) -> int:
    """Replace MediaPipe's custom TFLite op ``Convolution2DTransposeBias`` by ONNX ops.

    The op (mediapipe/util/tflite/operations/transpose_conv_bias.cc) is a transposed
    convolution plus a bias, on NHWC data, weights OHWI, with its padding and strides in
    the custom options (TfLiteTransposeConvParams: padding, stride_w, stride_h). tf2onnx
    leaves it as an unknown node; this puts Transpose(NCHW) -> ConvTranspose(+bias) ->
    Transpose(NHWC) in its place. Only the shapes where SAME and VALID padding agree
    (kernel equal to stride, output = input x stride) are handled; others fail loudly.
    """
    params = _transpose_conv_params(job["source"])
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    changed = 0
    for index in range(len(graph.node) - 1, -1, -1):
        node = graph.node[index]
        if node.op_type not in CUSTOM_TRANSPOSE_CONV:
            continue
        if not params:
            raise WorkerError("no Convolution2DTransposeBias options found in the TFLite file")
        _padding, stride_w, stride_h = params[min(changed, len(params) - 1)]
        data, weights_name, bias_name = node.input[0], node.input[1], node.input[2]
        if weights_name not in inits:
            raise WorkerError(f"{node.name}: weights {weights_name} are not a constant")
        ohwi = numpy_helper.to_array(inits[weights_name])
        _out, k_h, k_w, _in = ohwi.shape
        if (k_h, k_w) != (stride_h, stride_w):
            raise WorkerError(
                f"{node.name}: kernel {k_h}x{k_w} with strides {stride_h}x{stride_w} is not "
                "handled (only kernel == stride, where padding does not matter)"
            )
        iohw = np.ascontiguousarray(ohwi.transpose(3, 0, 1, 2))
        base = node.name or node.output[0]
        new_weights = f"{base}_weights_iohw"
        graph.initializer.append(numpy_helper.from_array(iohw, new_weights))
        nchw_in, nchw_out = f"{base}_nchw_in", f"{base}_nchw_out"
        replacement = [
            helper.make_node("Transpose", [data], [nchw_in], perm=[0, 3, 1, 2],
                             name=f"{base}_to_nchw"),
            helper.make_node("ConvTranspose", [nchw_in, new_weights, bias_name], [nchw_out],
                             kernel_shape=[k_h, k_w], strides=[stride_h, stride_w],
                             name=f"{base}_conv_transpose"),
            helper.make_node("Transpose", [nchw_out], [node.output[0]], perm=[0, 2, 3, 1],
                             name=f"{base}_to_nhwc"),
        ]  # fmt: skip
        del graph.node[index]
        for offset, new in enumerate(replacement):
            graph.node.insert(index + offset, new)
        changed += 1
    _drop_unused_initializers(graph)
    if changed and not any(d.domain in ("", "ai.onnx") for d in model.opset_import):
        raise WorkerError("model has no default-domain opset")
    # The custom domain tf2onnx declared for the unknown op is no longer used.
    kept = [d for d in model.opset_import if d.domain in ("", "ai.onnx", "ai.onnx.ml")]
    del model.opset_import[:]
    model.opset_import.extend(kept)
    return changed


def _transpose_conv_params(tflite_path: str) -> list[tuple[int, int, int]]:
    """(padding, stride_w, stride_h) of each Convolution2DTransposeBias in a TFLite file."""
    from tensorflow.lite.tools import flatbuffer_utils

    tfl = flatbuffer_utils.read_model(tflite_path)
    found = []
    for subgraph in tfl.subgraphs:
        for op in subgraph.operators:
            code = tfl.operatorCodes[op.opcodeIndex]
            name = code.customCode.decode() if code.customCode else ""
            if name in CUSTOM_TRANSPOSE_CONV:
                raw = b"" if op.customOptions is None else np.asarray(op.customOptions).tobytes()
                if len(raw) < 12:
                    raise WorkerError(f"{name}: custom options too short ({len(raw)} bytes)")
                found.append(struct.unpack("<iii", raw[:12]))
    return found


def fix_dynamic_batch(model: onnx.ModelProto, job: dict[str, Any]) -> int:
    """Make the batch axis dynamic in a graph exported for a batch of 1 (TFLite files).

    Sets dimension 0 of every input and output to ``N`` and turns a leading 1 in constant
    Reshape shapes into -1 (where no other -1 is present). The caller then checks that a
    batch of all verification inputs gives each input's own outputs, so a graph where this
    is wrong fails verification instead of being installed.
    """
    graph = model.graph
    changed = 0
    for value in [*graph.input, *graph.output]:
        dims = value.type.tensor_type.shape.dim
        if dims:
            dims[0].ClearField("dim_value")
            dims[0].dim_param = "N"
            changed += 1
    inits = {t.name: t for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Reshape" and node.input[1] in inits:
            shape = numpy_helper.to_array(inits[node.input[1]]).copy()
            if shape.ndim == 1 and len(shape) > 1 and shape[0] == 1 and -1 not in shape:
                shape[0] = -1
                inits[node.input[1]].CopyFrom(numpy_helper.from_array(shape, node.input[1]))
                changed += 1
    # Shapes inferred for batch 1 would contradict other batch sizes.
    del graph.value_info[:]
    return changed


FIXES = {
    "tflite_uint8_weights_as_int8": fix_tflite_uint8_weights_as_int8,
    "dequantize_weights": fix_dequantize_weights,
    "conv2d_transpose_bias": fix_conv2d_transpose_bias,
    "dynamic_batch": fix_dynamic_batch,
}


def _drop_unused_initializers(graph: onnx.GraphProto) -> None:
    used = {name for node in graph.node for name in node.input}
    kept = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)


def canonicalize(model: onnx.ModelProto) -> None:
    """Give the graph a canonical node order and canonical names, subgraphs included.

    tf2onnx is not deterministic across runs even with pinned versions: its constant
    de-duplication keeps whichever equal constant it meets first in a set, its names carry
    counters (``max_pooling2d_5`` in one run, ``max_pooling2d_7`` in the next), and parallel
    branches come out topologically sorted in either order (measured on MediaPipe's
    face_landmark.tflite: two sha256s over 7 runs). So the order and the names are rebuilt
    here from the graph's structure alone:

    1. every value gets a signature: a graph input its name, a constant its dtype, shape and
       bytes, a node's output a hash of the node's op, attributes (subgraphs by their own
       signature) and input signatures; a second, backward pass adds what consumes each
       node, so twin nodes feeding different places differ too;
    2. nodes are emitted by a topological sort whose ready queue is keyed by (the step that
       made the node ready, its signatures), never by tf2onnx's names or order;
    3. nodes are named ``<Op>_<k>`` in that order, their outputs likewise, constants
       ``const_<k>`` by first use; subgraph (Loop/If body) names get their node's name as a
       prefix. The main graph's inputs and outputs keep their names.

    After this the same pinned versions write the same bytes, which lets the manifest pin
    the converted file's sha256. The computation is unchanged: only order and names move.
    """
    _canonical_order(model.graph, {}, main=True)
    _canonical_names(model.graph, {}, "", main=True)


def _digest(*parts: str | bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        hasher.update(len(data).to_bytes(8, "little"))
        hasher.update(data)
    return hasher.hexdigest()


def _tensor_signature(tensor: onnx.TensorProto) -> str:
    """A constant's signature: its type, shape and values, whatever its name or storage."""
    array = numpy_helper.to_array(tensor)
    return _digest("const", str(tensor.data_type), repr(list(tensor.dims)), array.tobytes())


def _free_names(graph: onnx.GraphProto) -> set[str]:
    """Names a (sub)graph reads from enclosing scopes (implicit inputs of its node)."""
    defined = {v.name for v in graph.input} | {t.name for t in graph.initializer}
    free: set[str] = set()
    for node in graph.node:
        used = [n for n in node.input if n]
        for attribute in node.attribute:
            for sub in _subgraphs(attribute):
                used.extend(sorted(_free_names(sub)))
        free.update(n for n in used if n not in defined)
        defined.update(n for n in node.output if n)
    free.update(v.name for v in graph.output if v.name not in defined)
    return free


def _subgraphs(attribute: onnx.AttributeProto) -> list[onnx.GraphProto]:
    if attribute.type == onnx.AttributeProto.GRAPH:
        return [attribute.g]
    if attribute.type == onnx.AttributeProto.GRAPHS:
        return list(attribute.graphs)
    return []


def _node_reads(node: onnx.NodeProto) -> list[str]:
    """Everything a node reads: its inputs, then its subgraphs' outer names (sorted)."""
    implicit: set[str] = set()
    for attribute in node.attribute:
        for sub in _subgraphs(attribute):
            implicit |= _free_names(sub)
    return [n for n in node.input if n] + sorted(implicit - set(node.input))


def _canonical_order(graph: onnx.GraphProto, outer: dict[str, str], main: bool) -> str:
    """Sort ``graph.node`` canonically (subgraphs first); return the graph's signature.

    ``outer`` maps the names visible from enclosing scopes to their signatures.
    """
    sigs = dict(outer)
    for position, value in enumerate(graph.input):
        # A subgraph's inputs are bound by position; the main graph's by their names.
        key = value.name if main else str(position)
        sigs[value.name] = _digest("input", key, value.type.SerializeToString(deterministic=True))
    for tensor in graph.initializer:
        if not (main and tensor.name in {v.name for v in graph.input}):
            sigs[tensor.name] = _tensor_signature(tensor)
    nodes = list(graph.node)
    producer = {name: k for k, node in enumerate(nodes) for name in node.output if name}
    reads = [_node_reads(node) for node in nodes]
    deps = [{producer[n] for n in names if n in producer} for names in reads]

    # Forward signatures, in the file's (valid) topological order, found by Kahn's algorithm
    # so that a file listing nodes out of order still works.
    consumers: list[list[int]] = [[] for _ in nodes]
    for k, ds in enumerate(deps):
        for d in ds:
            consumers[d].append(k)
    waiting = [len(ds) for ds in deps]
    queue = [k for k, w in enumerate(waiting) if w == 0]
    topo: list[int] = []
    while queue:
        k = queue.pop(0)
        topo.append(k)
        for c in consumers[k]:
            waiting[c] -= 1
            if waiting[c] == 0:
                queue.append(c)
    if len(topo) != len(nodes):
        raise WorkerError("the graph has a cycle: cannot order it")
    up: list[str] = [""] * len(nodes)
    for k in topo:
        node = nodes[k]
        attributes = []
        for attribute in sorted(node.attribute, key=lambda a: a.name):
            subs = _subgraphs(attribute)
            if subs:
                inner = [_canonical_order(sub, sigs, main=False) for sub in subs]
                attributes.append(_digest("graph", attribute.name, *inner))
            else:
                attributes.append(attribute.SerializeToString(deterministic=True).hex())
        inputs = [sigs.get(n, _digest("free", n)) if n else "none" for n in node.input]
        implicit = sorted(sigs.get(n, _digest("free", n)) for n in reads[k][len(inputs):])
        up[k] = _digest(
            node.domain, node.op_type, str(len(node.output)), *attributes, "|", *inputs,
            "|", *implicit,
        )  # fmt: skip
        for j, name in enumerate(node.output):
            if name:
                sigs[name] = _digest(up[k], str(j))

    # Backward signatures: what each node feeds, and where (graph outputs by name or
    # position), so that two nodes with equal inputs but different consumers differ.
    graph_outputs: dict[str, list[str]] = {}
    for position, value in enumerate(graph.output):
        graph_outputs.setdefault(value.name, []).append(value.name if main else str(position))
    down: list[str] = [""] * len(nodes)
    for k in reversed(topo):
        uses = []
        for j, name in enumerate(nodes[k].output):
            if not name:
                continue
            for key in graph_outputs.get(name, []):
                uses.append(_digest("output", str(j), key))
            for c in consumers[k]:
                for slot, read in enumerate(reads[c]):
                    if read == name:
                        uses.append(_digest("use", str(j), str(slot), up[c], down[c]))
        down[k] = _digest(up[k], *sorted(uses))

    # The canonical order: Kahn's algorithm again, the ready queue keyed by the emission
    # step that made a node ready and then by its signatures; tf2onnx's names and order
    # only break ties between nodes that are exact structural twins.
    waiting = [len(ds) for ds in deps]
    ready = [(-1, up[k], down[k], nodes[k].name, k) for k, w in enumerate(waiting) if w == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        *_, k = heapq.heappop(ready)
        step = len(order)
        order.append(k)
        for c in consumers[k]:
            waiting[c] -= 1
            if waiting[c] == 0:
                heapq.heappush(ready, (step, up[c], down[c], nodes[c].name, c))
    for node in nodes:
        kept = sorted(node.attribute, key=lambda a: a.name)
        del node.attribute[:]
        node.attribute.extend(kept)
    canonical = [onnx.NodeProto() for _ in order]
    for target, k in zip(canonical, order, strict=True):
        target.CopyFrom(nodes[k])
    del graph.node[:]
    graph.node.extend(canonical)
    outputs = [sigs.get(v.name, _digest("free", v.name)) for v in graph.output]
    return _digest("body", *(up[k] for k in order), "|", *outputs)


def _canonical_names(
    graph: onnx.GraphProto, outer: dict[str, str], prefix: str, main: bool
) -> None:
    """Rename the (already ordered) graph's nodes, values and constants; see canonicalize.

    ``outer`` maps names of enclosing scopes to their new names; ``prefix`` keeps a
    subgraph's names apart from every other scope's.
    """
    rename = dict(outer)
    kept = {v.name for v in graph.input} | {v.name for v in graph.output} if main else set()
    taken = set(kept) | set(outer.values())

    def fresh(name: str) -> str:
        while name in taken:  # only if a kept name happens to look like a canonical one
            name += "_"
        taken.add(name)
        return name

    for position, value in enumerate(graph.input):
        rename[value.name] = value.name if main else fresh(f"{prefix}in_{position}")
    inits = {t.name: t for t in graph.initializer if t.name not in rename or not main}
    order: list[str] = []
    seen: set[str] = set()

    def use(name: str) -> None:
        if name in inits and name not in seen:
            order.append(name)
            seen.add(name)

    for node in graph.node:
        for name in _node_reads(node):
            use(name)
    for value in graph.output:
        use(value.name)
    for k, name in enumerate(order):
        rename[name] = name if name in kept else fresh(f"{prefix}const_{k}")
    for k, node in enumerate(graph.node):
        base = f"{prefix}{node.op_type}_{k}"
        node.name = fresh(base)
        for j, name in enumerate(node.output):
            if name:
                if name in kept:
                    rename[name] = name
                else:
                    rename[name] = fresh(base if len(node.output) == 1 else f"{base}_{j}")
    for node in graph.node:
        for attribute in node.attribute:
            for index, sub in enumerate(_subgraphs(attribute)):
                tag = attribute.name if attribute.type == onnx.AttributeProto.GRAPH else (
                    f"{attribute.name}{index}"
                )
                _canonical_names(sub, rename, f"{node.name}/{tag}/", main=False)
        for position, name in enumerate(node.input):
            if name:
                node.input[position] = rename.get(name, name)
        for position, name in enumerate(node.output):
            if name:
                node.output[position] = rename[name]
    for value in [*graph.input, *graph.output]:
        value.name = rename.get(value.name, value.name)
    for name in order:
        inits[name].name = rename[name]
    ordered_inits = [onnx.TensorProto() for _ in order]
    for target, name in zip(ordered_inits, order, strict=True):
        target.CopyFrom(inits[name])
    if main:  # initializers that are also (overridable) graph inputs stay as they were
        ordered_inits += [t for t in graph.initializer if t.name in rename and t.name not in inits]
    del graph.initializer[:]
    graph.initializer.extend(ordered_inits)
    rank = {new: k for k, new in enumerate(rename.values())}
    infos = [v for v in graph.value_info if v.name in rename]
    for value in infos:
        value.name = rename[value.name]
    infos.sort(key=lambda v: rank.get(v.name, len(rank)))
    kept_infos = [onnx.ValueInfoProto() for _ in infos]
    for target, value in zip(kept_infos, infos, strict=True):
        target.CopyFrom(value)
    del graph.value_info[:]
    graph.value_info.extend(kept_infos)


# ---------------------------------------------------------------------------------------
# Verification inputs and the original runtime


def _onnx_inputs(model: onnx.ModelProto) -> list[tuple[str, list[int | None], np.dtype]]:
    inits = {t.name for t in model.graph.initializer}
    found = []
    for value in model.graph.input:
        if value.name in inits:
            continue
        tensor = value.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
        found.append((value.name, shape, helper.tensor_dtype_to_np_dtype(tensor.elem_type)))
    return found


def make_cases(model: onnx.ModelProto, verify: dict[str, Any]) -> list[dict[str, np.ndarray]]:
    """Verification inputs: a real image (when the job gives one) and a seeded random one."""
    rng = np.random.default_rng(int(verify.get("seed", 0)))
    inputs = _onnx_inputs(model)
    overrides = verify.get("shapes") or {}
    cases: list[dict[str, np.ndarray]] = []
    for kind in (["image"] if verify.get("image") else []) + ["random"]:
        case = {}
        for position, (name, shape, dtype) in enumerate(inputs):
            shape = overrides.get(name) or [1 if d is None else d for d in shape]
            low, high = _input_range(verify, dtype)
            if kind == "image" and position == 0:
                case[name] = _image_input(verify, shape, dtype, low, high)
            elif np.issubdtype(dtype, np.integer):
                case[name] = rng.integers(int(low), int(high) + 1, size=shape).astype(dtype)
            else:
                case[name] = rng.uniform(low, high, size=shape).astype(dtype)
        cases.append(case)
    return cases


def _input_range(verify: dict[str, Any], dtype: np.dtype) -> tuple[float, float]:
    if verify.get("range"):
        low, high = verify["range"]
        return float(low), float(high)
    return (0.0, 255.0) if np.issubdtype(dtype, np.integer) else (0.0, 1.0)


def _image_input(
    verify: dict[str, Any], shape: list[int], dtype: np.dtype, low: float, high: float
) -> np.ndarray:
    """The job's image, cropped to its box, resized to the NHWC input, scaled to the range."""
    import tensorflow as tf

    if len(shape) != 4 or shape[3] not in (1, 3):
        raise WorkerError(f"an image verification input needs NHWC with 1 or 3 channels: {shape}")
    with open(verify["image"], "rb") as stream:
        rgb = tf.io.decode_image(stream.read(), channels=3, expand_animations=False)
    rgb = tf.cast(rgb, tf.float32).numpy()
    if verify.get("box"):
        x0, y0, x1, y1 = (int(v) for v in verify["box"])
        rgb = rgb[y0:y1, x0:x1]
    image = tf.image.resize(rgb, (shape[1], shape[2]), antialias=True).numpy()
    channels = verify.get("channels", "rgb")
    if channels == "bgr":
        image = image[..., ::-1]
    elif channels == "grey":
        grey = image @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        image = np.repeat(grey[..., None], 3, axis=-1)
    if shape[3] == 1:
        image = image[..., :1]
    scaled = low + image / 255.0 * (high - low)
    if np.issubdtype(dtype, np.integer):
        scaled = np.clip(np.rint(scaled), low, high)
    return np.broadcast_to(scaled.astype(dtype), shape).copy()


def run_original(
    job: dict[str, Any], original: Any, model: onnx.ModelProto, case: dict[str, np.ndarray]
) -> list[np.ndarray]:
    """The original runtime's outputs for one case, in the ONNX graph's output order."""
    import tensorflow as tf

    output_names = [o.name for o in model.graph.output]
    kind = job["from"]
    if kind == "keras_h5":
        feeds = [case[_plain(t.name)] for t in original.inputs]
        result = original(feeds if len(feeds) > 1 else feeds[0], training=False)
        result = result if isinstance(result, list | tuple) else [result]
        return [np.asarray(r) for r in result]
    if kind == "tf_graph":
        graph = tf.Graph()
        with graph.as_default():
            tf.compat.v1.import_graph_def(original, name="")
        with tf.compat.v1.Session(graph=graph) as session:
            fetched = session.run(job["outputs"], feed_dict=dict(case.items()))
        by_name = dict(zip(job["outputs"], fetched, strict=True))
        return [np.asarray(by_name[name]) for name in output_names]
    content = original
    if "conv2d_transpose_bias" in job["fixes"]:
        content = _tflite_with_builtin_transpose_conv(job["source"])
    interpreter = tf.lite.Interpreter(model_content=content)
    interpreter.allocate_tensors()
    for detail in interpreter.get_input_details():
        interpreter.set_tensor(detail["index"], case[detail["name"]])
    interpreter.invoke()
    by_name = {d["name"]: d["index"] for d in interpreter.get_output_details()}
    return [np.array(interpreter.get_tensor(by_name[name])) for name in output_names]


def _tflite_with_builtin_transpose_conv(tflite_path: str) -> bytes:
    """The TFLite model with each Convolution2DTransposeBias replaced by TFLite's builtin
    TRANSPOSE_CONV (which takes a bias since version 3).

    TensorFlow's interpreter cannot run MediaPipe's custom op, so the original runtime runs
    the op's definition written with TFLite's own kernel instead: a second, independent
    implementation to compare the ONNX replacement with.
    """
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    tfl = flatbuffer_utils.read_model(tflite_path)
    code = schema.OperatorCodeT()
    code.builtinCode = schema.BuiltinOperator.TRANSPOSE_CONV
    code.deprecatedBuiltinCode = schema.BuiltinOperator.TRANSPOSE_CONV
    code.version = 3
    tfl.operatorCodes.append(code)
    code_index = len(tfl.operatorCodes) - 1
    for subgraph in tfl.subgraphs:
        for op in subgraph.operators:
            custom = tfl.operatorCodes[op.opcodeIndex].customCode
            if not custom or custom.decode() not in CUSTOM_TRANSPOSE_CONV:
                continue
            raw = np.asarray(op.customOptions, dtype=np.uint8).tobytes()
            padding, stride_w, stride_h = struct.unpack("<iii", raw[:12])
            data, weights, bias = list(op.inputs)
            out_shape = np.array(subgraph.tensors[op.outputs[0]].shape, dtype=np.int32)
            buffer = schema.BufferT()
            buffer.data = np.frombuffer(out_shape.tobytes(), dtype=np.uint8)
            tfl.buffers.append(buffer)
            tensor = schema.TensorT()
            tensor.shape = np.array([len(out_shape)], dtype=np.int32)
            tensor.type = schema.TensorType.INT32
            tensor.buffer = len(tfl.buffers) - 1
            tensor.name = b"transpose_conv_output_shape"
            subgraph.tensors.append(tensor)
            options = schema.TransposeConvOptionsT()
            options.padding = padding
            options.strideW, options.strideH = stride_w, stride_h
            op.opcodeIndex = code_index
            op.inputs = np.array([len(subgraph.tensors) - 1, weights, data, bias], np.int32)
            op.builtinOptionsType = schema.BuiltinOptions.TransposeConvOptions
            op.builtinOptions = options
            op.customOptions = None
    return bytes(flatbuffer_utils.convert_object_to_bytearray(tfl))


# ---------------------------------------------------------------------------------------


def main(job_path: str) -> int:
    """Run one conversion job; print a JSON summary line."""
    with open(job_path) as stream:
        job = json.load(stream)
    model, original = convert(job)
    applied = {}
    for name in job["fixes"]:
        if name not in FIXES:
            raise WorkerError(f"unknown fix {name!r}; known: {sorted(FIXES)}")
        applied[name] = FIXES[name](model, job)
        if applied[name] == 0:
            raise WorkerError(f"fix {name!r} found nothing to change: is it the right model?")
    unknown = sorted(
        {n.op_type for n in model.graph.node if n.domain not in ("", "ai.onnx")}
        | ({n.op_type for n in model.graph.node} - _KNOWN_OPS)
    )
    if unknown:
        raise WorkerError(
            f"tf2onnx left ops that ONNX does not have: {unknown}; a fix must replace them "
            f"(known fixes: {sorted(FIXES)}), or a newer opset may have them"
        )
    canonicalize(model)
    onnx.checker.check_model(model)
    with open(job["output"], "wb") as stream:
        stream.write(model.SerializeToString(deterministic=True))

    cases = make_cases(model, job.get("verify") or {})
    arrays: dict[str, np.ndarray] = {}
    input_names = [name for name, _, _ in _onnx_inputs(model)]
    for k, case in enumerate(cases):
        for i, name in enumerate(input_names):
            arrays[f"case{k}_in{i}"] = case[name]
        for j, out in enumerate(run_original(job, original, model, case)):
            arrays[f"case{k}_out{j}"] = out
    np.savez(job["reference"], **arrays)
    print(
        json.dumps(
            {
                "fixes": applied,
                "cases": len(cases),
                "inputs": input_names,
                "outputs": [o.name for o in model.graph.output],
            }
        )
    )
    return 0


_KNOWN_OPS = {schema.name for schema in onnx.defs.get_all_schemas()}


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1]))
    except WorkerError as exc:
        print(f"conversion failed: {exc}", file=sys.stderr)
        sys.exit(2)

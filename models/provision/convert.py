"""Models that ship as Keras HDF5, TF frozen graphs or TFLite, converted to ONNX once.

The service runs ONNX with onnxruntime only. A manifest entry with a ``convert:`` mapping
names a source file in another format; provisioning then:

1. fetches the source file (its ``source_sha256`` checked, as any fetch),
2. converts it with tf2onnx in a separate, pinned converter environment
   (``<data dir>/converter-venv``, created on first use from :data:`REQUIREMENTS`; the
   service's own environment never gets TensorFlow), applying the named ``fixes``,
3. verifies the ONNX file: onnxruntime's outputs must equal the original runtime's
   (tf-keras, a TF session, the TFLite interpreter) within ``verify.tolerance`` on a real
   image crop (``verify.image``) and on a seeded random input, and, for a dynamic batch,
   a batch of both must give each input's own outputs,
4. checks the converted file's ``sha256`` against the manifest: with the pinned versions
   the conversion writes the same bytes every time (nodes get a canonical order and
   canonical names, see ``convert_worker.canonicalize``), so the file the service loads
   is pinned like any other. Only then does the file take its place in the models directory.

A converted file that is present with the right sha256 is left alone: nothing is fetched,
no environment is built, and the service runs offline.

Manifest form (``models/provision/manifest.yaml``)::

    facex_emotions:
      task: emotions
      family: facex_emotions
      file: facex_emotions.onnx
      sha256: <sha256 of the converted ONNX file>
      source: {pypi: facex==1.1.0, member: facex/assets/model_optimized.tflite}
      source_sha256: <sha256 of the TFLite file>
      convert:
        from: tflite                  # keras_h5 | tf_graph | tflite
        member: null                  # a file inside the source (a .task zip), if any
        inputs: []                    # tensor names (tf_graph: required)
        outputs: []
        opset: 17
        fixes: [tflite_uint8_weights_as_int8, dynamic_batch]
        verify:
          tolerance: 0.05             # max |onnx - original| over every output value
          image: {pypi: insightface==0.7.3, sdist: true, member: .../t1.jpg}
          image_sha256: <sha256>
          box: [x0, y0, x1, y1]       # crop of the image fed to the first input
          channels: rgb               # rgb | bgr | grey (grey replicated to 3 channels)
          range: [0, 1]               # the input's value range (image 0..255 mapped onto it)
          shapes: {}                  # input name -> shape, where the model leaves it open
          seed: 0

The command line converts a local file outside the manifest, to try a model and learn its
sha256: ``python -m models.provision.convert --from tflite --source F --out F.onnx``.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models import paths
from models.provision.fetch import FetchError, Source, fetch, sha256_of

Progress = Callable[[str], None]

#: The converter environment, as resolved on Python 3.11 (tensorflow-cpu 2.21.0 pulls
#: tensorflow 2.21.0). Every package is pinned so that conversions are reproducible; a
#: change here rebuilds the environment, and may change converted files' sha256.
REQUIREMENTS: tuple[str, ...] = (
    "tensorflow-cpu==2.21.0",
    "tensorflow==2.21.0",
    "tf-keras==2.21.0",
    "tf2onnx==1.17.0",
    "onnx==1.23.2",
    "numpy==2.4.6",
    "protobuf==7.36.2",
    "flatbuffers==25.12.19",
    "h5py==3.14.0",
    "keras==3.15.1",
    "ml-dtypes==0.7.0",
    "absl-py==2.5.1",
    "astunparse==1.6.3",
    "gast==0.7.0",
    "google-pasta==0.2.0",
    "grpcio==1.85.3",
    "libclang==18.1.1",
    "namex==0.1.0",
    "opt-einsum==3.4.0",
    "optree==0.20.0",
    "packaging==26.4",
    "rich==15.0.0",
    "markdown-it-py==4.3.0",
    "mdurl==0.1.2",
    "pygments==2.21.0",
    "six==1.17.0",
    "termcolor==3.3.0",
    "typing-extensions==4.16.0",
    "wrapt==2.5.2",
    "requests==2.34.2",
    "certifi==2026.10.19.post1",
    "charset-normalizer==3.5.3",
    "idna==3.21",
    "urllib3==2.8.0",
)

FORMATS = ("keras_h5", "tf_graph", "tflite")
FIXES = (
    "tflite_uint8_weights_as_int8",
    "dequantize_weights",
    "conv2d_transpose_bias",
    "dynamic_batch",
)
CHANNELS = ("rgb", "bgr", "grey")
WORKER = Path(__file__).with_name("convert_worker.py")
DEFAULT_OPSET = 17


class ConvertError(RuntimeError):
    """A model could not be converted, or its conversion failed verification."""


@dataclass(frozen=True)
class VerifySpec:
    """How a converted file is compared with the original runtime (see the module doc)."""

    tolerance: float = 1e-4
    image: Source | None = None
    image_sha256: str | None = None
    box: tuple[int, int, int, int] | None = None
    channels: str = "rgb"
    range: tuple[float, float] | None = None
    shapes: dict[str, list[int]] = field(default_factory=dict)
    seed: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> VerifySpec:
        """Build from the manifest's ``verify:`` mapping, rejecting unknown keys."""
        data = dict(data or {})
        unknown = set(data) - {
            "tolerance", "image", "image_sha256", "box", "channels", "range", "shapes", "seed"
        }  # fmt: skip
        if unknown:
            raise ConvertError(f"unknown verify keys: {sorted(unknown)}")
        image = Source.from_dict(dict(data["image"])) if data.get("image") else None
        if image is not None and not data.get("image_sha256"):
            raise ConvertError("verify.image needs verify.image_sha256")
        channels = str(data.get("channels", "rgb"))
        if channels not in CHANNELS:
            raise ConvertError(f"verify.channels must be one of {CHANNELS}, not {channels!r}")
        box = data.get("box")
        if box is not None and len(box) != 4:
            raise ConvertError("verify.box is [x0, y0, x1, y1]")
        value_range = data.get("range")
        if value_range is not None and len(value_range) != 2:
            raise ConvertError("verify.range is [low, high]")
        tolerance = float(data.get("tolerance", 1e-4))
        if not tolerance > 0:
            raise ConvertError("verify.tolerance must be positive")
        return cls(
            tolerance=tolerance,
            image=image,
            image_sha256=str(data["image_sha256"]).lower() if image else None,
            box=tuple(int(v) for v in box) if box else None,  # type: ignore[arg-type]
            channels=channels,
            range=(float(value_range[0]), float(value_range[1])) if value_range else None,
            shapes={str(k): [int(d) for d in v] for k, v in (data.get("shapes") or {}).items()},
            seed=int(data.get("seed", 0)),
        )


@dataclass(frozen=True)
class ConvertSpec:
    """What a manifest entry's ``convert:`` mapping says: the source format and the fixes."""

    source_format: str
    member: str | None = None
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    opset: int = DEFAULT_OPSET
    fixes: tuple[str, ...] = ()
    verify: VerifySpec = field(default_factory=VerifySpec)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConvertSpec:
        """Build from the manifest's ``convert:`` mapping, rejecting what cannot work."""
        if not isinstance(data, dict):
            raise ConvertError(f"convert: expected a mapping, got {type(data).__name__}")
        unknown = set(data) - {"from", "member", "inputs", "outputs", "opset", "fixes", "verify"}
        if unknown:
            raise ConvertError(f"unknown convert keys: {sorted(unknown)}")
        source_format = str(data.get("from", ""))
        if source_format not in FORMATS:
            raise ConvertError(f"convert.from must be one of {FORMATS}, not {source_format!r}")
        fixes = tuple(str(f) for f in data.get("fixes") or ())
        bad = [f for f in fixes if f not in FIXES]
        if bad:
            raise ConvertError(f"unknown fixes {bad}; known: {list(FIXES)}")
        inputs = tuple(str(n) for n in data.get("inputs") or ())
        outputs = tuple(str(n) for n in data.get("outputs") or ())
        if source_format == "tf_graph" and not (inputs and outputs):
            raise ConvertError("convert.from tf_graph needs inputs and outputs (tensor names)")
        return cls(
            source_format=source_format,
            member=str(data["member"]) if data.get("member") else None,
            inputs=inputs,
            outputs=outputs,
            opset=int(data.get("opset", DEFAULT_OPSET)),
            fixes=fixes,
            verify=VerifySpec.from_dict(data.get("verify")),
        )


@dataclass(frozen=True)
class Conversion:
    """What a conversion produced and how closely it matched the original."""

    sha256: str
    max_difference: float
    cases: int
    batched: bool
    fixes: dict[str, int]


# ---------------------------------------------------------------------------------------
# The converter environment


def converter_dir(data_dir: Path | None = None) -> Path:
    """Where the converter environment lives: ``<data dir>/converter-venv``."""
    return (data_dir or paths.data_dir()) / "converter-venv"


def ensure_converter(venv: Path | None = None, progress: Progress = print) -> Path:
    """The converter environment's Python, creating (or re-creating) it when needed.

    A stamp file, written last, holds the requirements it was built from: a different pin
    list, or a build that was interrupted, rebuilds it from scratch. An exclusive lock on
    ``<venv>.lock`` (next to it) is held while checking and building, so two provisioning
    runs at once do not both build it (or one delete what the other is building): the
    second waits, then finds it built.
    """
    venv = Path(venv or converter_dir())
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.with_name(venv.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        return _ensure_converter_locked(venv, progress)


def _ensure_converter_locked(venv: Path, progress: Progress) -> Path:
    python = venv / "bin" / "python"
    stamp = venv / "luna-requirements.txt"
    wanted = "\n".join(REQUIREMENTS) + "\n"
    if python.exists() and stamp.is_file() and stamp.read_text() == wanted:
        return python
    progress(f"  building the converter environment in {venv} (TensorFlow, tf2onnx; once)")
    shutil.rmtree(venv, ignore_errors=True)
    base = getattr(sys, "_base_executable", None) or sys.executable
    _run([base, "-m", "venv", str(venv)], "create the converter environment")
    requirements = venv / "requirements.txt"
    requirements.write_text(wanted)
    _run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-r", str(requirements)],
        "install the converter environment",
    )  # fmt: skip
    stamp.write_text(wanted)
    return python


def _run(command: list[str], what: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise ConvertError(f"could not {what}:\n{tail}")
    return result.stdout


# ---------------------------------------------------------------------------------------
# Converting one file


def convert_file(
    spec: ConvertSpec,
    source_file: Path,
    dest: Path,
    *,
    expected_sha256: str | None = None,
    cache_dir: Path | None = None,
    venv: Path | None = None,
    progress: Progress = print,
) -> Conversion:
    """Convert ``source_file`` to ONNX at ``dest``, verified; see the module doc.

    With ``expected_sha256`` the converted bytes must have it, else nothing is written.
    Raises :class:`ConvertError` (or :class:`~models.provision.fetch.FetchError` for the
    verification image) and leaves ``dest`` as it was on any failure.
    """
    dest = Path(dest)
    cache_dir = Path(cache_dir or paths.data_dir() / "cache")
    python = ensure_converter(venv, progress)
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.convert-"))
    try:
        source = Path(source_file)
        if spec.member:
            source = _extract_zip_member(source, spec.member, work)
        image = _verification_image(spec.verify, cache_dir, progress)
        job = {
            "from": spec.source_format,
            "source": str(source),
            "output": str(work / "model.onnx"),
            "reference": str(work / "reference.npz"),
            "inputs": list(spec.inputs),
            "outputs": list(spec.outputs),
            "opset": spec.opset,
            "fixes": list(spec.fixes),
            "verify": {
                "image": str(image) if image else None,
                "box": list(spec.verify.box) if spec.verify.box else None,
                "channels": spec.verify.channels,
                "range": list(spec.verify.range) if spec.verify.range else None,
                "shapes": spec.verify.shapes,
                "seed": spec.verify.seed,
            },
        }
        (work / "job.json").write_text(json.dumps(job))
        progress(f"  converting {spec.source_format} with tf2onnx (fixes: {list(spec.fixes)})")
        # A fixed hash seed takes one source of run-to-run drift away (tf2onnx walks sets of
        # names); the worker's canonical node order and names take away the rest.
        env = {**os.environ, "PYTHONHASHSEED": "0", "CUDA_VISIBLE_DEVICES": ""}
        out = _run([str(python), str(WORKER), str(work / "job.json")], "convert", env=env)
        summary = json.loads(out.strip().splitlines()[-1])
        difference, cases, batched = verify_onnx(
            work / "model.onnx", work / "reference.npz", spec.verify.tolerance
        )
        progress(
            f"  verified against the original runtime: max |diff| {difference:.2g} "
            f"(tolerance {spec.verify.tolerance:g}) on {cases} input(s)"
            + (", and as one batch" if batched else "")
        )
        actual = sha256_of(work / "model.onnx")
        if expected_sha256 and actual != expected_sha256.lower():
            raise ConvertError(
                f"converted {dest.name} has sha256 {actual}, the manifest expects "
                f"{expected_sha256}: other converter versions? (the file passed verification)"
            )
        os.chmod(work / "model.onnx", 0o644)
        os.replace(work / "model.onnx", dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Conversion(
        sha256=actual,
        max_difference=difference,
        cases=cases,
        batched=batched,
        fixes=dict(summary.get("fixes") or {}),
    )


def _extract_zip_member(archive: Path, member: str, work: Path) -> Path:
    target = work / Path(member).name
    try:
        with zipfile.ZipFile(archive) as zf, zf.open(member) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
    except (KeyError, zipfile.BadZipFile) as exc:
        raise ConvertError(f"cannot take {member} out of {archive.name}: {exc}") from exc
    return target


def _verification_image(verify: VerifySpec, cache_dir: Path, progress: Progress) -> Path | None:
    if verify.image is None or verify.image_sha256 is None:
        return None
    name = Path(verify.image.member or verify.image.path or verify.image.url or "image").name
    target = cache_dir / "verify" / verify.image_sha256[:16] / name
    fetch(verify.image, verify.image_sha256, target, cache_dir, progress)
    return target


def verify_onnx(model: Path, reference: Path, tolerance: float) -> tuple[float, int, bool]:
    """Compare onnxruntime's outputs with the original runtime's saved ones.

    Returns (largest absolute difference, number of inputs, whether a batch of all inputs
    was checked too). Raises :class:`ConvertError` beyond ``tolerance``.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    saved = np.load(reference)
    cases = sorted({key.split("_")[0] for key in saved.files}, key=lambda c: int(c[4:]))
    worst = 0.0
    feeds_all, refs_all = [], []
    for case in cases:
        feeds = {name: saved[f"{case}_in{i}"] for i, name in enumerate(names)}
        refs = [saved[key] for key in _sorted_outputs(saved.files, case)]
        outs = session.run(None, feeds)
        worst = max(worst, _compare(outs, refs, tolerance, case))
        feeds_all.append(feeds)
        refs_all.append(refs)
    batch_axis = session.get_inputs()[0].shape[0]
    batched = len(cases) > 1 and not isinstance(batch_axis, int)
    if batched:
        feeds = {n: np.concatenate([f[n] for f in feeds_all]) for n in names}
        refs = [np.concatenate(parts) for parts in zip(*refs_all, strict=True)]
        worst = max(worst, _compare(session.run(None, feeds), refs, tolerance, "batch"))
    return worst, len(cases), batched


def _sorted_outputs(files: Sequence[str], case: str) -> list[str]:
    keys = [k for k in files if k.startswith(f"{case}_out")]
    return sorted(keys, key=lambda k: int(k.rsplit("out", 1)[1]))


def _compare(outs: list[Any], refs: list[np.ndarray], tolerance: float, case: str) -> float:
    if len(outs) != len(refs):
        raise ConvertError(f"{case}: ONNX gives {len(outs)} outputs, the original {len(refs)}")
    worst = 0.0
    for index, (out, ref) in enumerate(zip(outs, refs, strict=True)):
        out, ref = np.asarray(out), np.asarray(ref)
        if out.shape != ref.shape:
            raise ConvertError(
                f"{case}: output {index} has shape {out.shape}, the original {ref.shape}"
            )
        if out.size:
            diff = float(np.max(np.abs(out.astype(np.float64) - ref.astype(np.float64))))
            worst = max(worst, diff)
    if not worst <= tolerance:
        raise ConvertError(
            f"{case}: ONNX differs from the original runtime by {worst:.3g} "
            f"(tolerance {tolerance:g}): the conversion is wrong"
        )
    return worst


# ---------------------------------------------------------------------------------------
# Provisioning a manifest entry


def provision_converted(
    entry: Any,
    dest: Path,
    cache_dir: Path,
    venv: Path | None = None,
    progress: Progress = print,
) -> bool:
    """Make ``dest`` hold the converted, verified file of a manifest entry with ``convert``.

    Returns False when it was already there with the manifest's sha256 (nothing done,
    nothing fetched, no converter needed), True when it was converted now.
    """
    dest = Path(dest)
    if dest.is_file() and sha256_of(dest) == entry.sha256:
        return False
    if entry.convert is None or entry.source_sha256 is None:
        raise ConvertError(f"{entry.name}: not a converted model")
    name = Path(entry.source.member or entry.source.path or entry.source.url or "source").name
    source_file = cache_dir / "sources" / entry.name / name
    fetch(entry.source, entry.source_sha256, source_file, cache_dir, progress)
    convert_file(
        entry.convert,
        source_file,
        dest,
        expected_sha256=entry.sha256,
        cache_dir=cache_dir,
        venv=venv,
        progress=progress,
    )
    return True


def main(argv: list[str] | None = None) -> int:
    """``python -m models.provision.convert``: convert one local file, verify, print sha256."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--from", dest="source_format", choices=FORMATS, required=True)
    parser.add_argument("--source", type=Path, required=True, help="the file to convert")
    parser.add_argument("--out", type=Path, required=True, help="the ONNX file to write")
    parser.add_argument("--member", help="a file inside the source zip (.task) to convert")
    parser.add_argument("--inputs", nargs="*", default=[], help="input tensor names")
    parser.add_argument("--outputs", nargs="*", default=[], help="output tensor names")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    parser.add_argument("--fix", action="append", default=[], choices=FIXES)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--image", type=Path, help="a local image for the verification input")
    parser.add_argument("--box", type=int, nargs=4, metavar=("X0", "Y0", "X1", "Y1"))
    parser.add_argument("--channels", choices=CHANNELS, default="rgb")
    parser.add_argument("--range", type=float, nargs=2, metavar=("LOW", "HIGH"))
    parser.add_argument("--shape", action="append", default=[], metavar="NAME=D0,D1,..",
                        help="an input's shape where the model leaves dimensions open")
    parser.add_argument("--sha256", help="fail unless the converted file has this sha256")
    options = parser.parse_args(argv)  # fmt: skip

    verify: dict[str, Any] = {"tolerance": options.tolerance, "channels": options.channels}
    if options.image:
        verify["image"] = {"path": str(options.image)}
        verify["image_sha256"] = sha256_of(options.image)
    if options.box:
        verify["box"] = options.box
    if options.range:
        verify["range"] = options.range
    shapes = {}
    for item in options.shape:
        name, _, dims = item.rpartition("=")
        shapes[name] = [int(d) for d in dims.split(",")]
    verify["shapes"] = shapes
    try:
        spec = ConvertSpec.from_dict(
            {
                "from": options.source_format,
                "member": options.member,
                "inputs": options.inputs,
                "outputs": options.outputs,
                "opset": options.opset,
                "fixes": options.fix,
                "verify": verify,
            }
        )
        result = convert_file(spec, options.source, options.out, expected_sha256=options.sha256)
    except (ConvertError, FetchError, OSError) as exc:
        print(f"conversion failed: {exc}", file=sys.stderr)
        return 1
    print(f"source_sha256: {sha256_of(options.source)}")
    print(f"sha256: {result.sha256}")
    print(f"fixes: {result.fixes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

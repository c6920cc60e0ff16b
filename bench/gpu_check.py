"""GPU proof: the project's face detector and descriptor on a host with PyTorch (CUDA) but
neither onnxruntime-gpu nor Ray, beside the service's CPU path, in one table.

    python bench/gpu_check.py [--batches 1,8,32,64] [--seconds 3] [--models .data/models]

Runtimes, each where this host has it:

* ``ort-cpu``: onnxruntime on the CPU, the service's path: the reference outputs.
* ``ort-cuda``: onnxruntime's CUDA provider (onnxruntime-gpu).
* ``torch-cpu``, ``torch-cuda``, ``torch-cuda-fp16``: the same ONNX files converted to
  PyTorch modules by onnx2torch (an 81 KB pure-Python wheel; needs ``onnx``).

For each runtime, model and batch size: images (detector, 640x640 letterboxed photos) or
faces (descriptor, 112x112 ArcFace crops of the faces found in the photos) per second, and
agreement with ``ort-cpu`` on the same real inputs: the largest score difference of the
detector's outputs and the lowest cosine between descriptors. A line per runtime then gives
detect + descriptor images/s at its best batches for the photos' mean faces per image.
Exits 1 when a runtime disagrees beyond the tolerances (``TOLERANCE``).

Only the models' own forward passes are timed (letterboxing, NMS and warps are the same
CPU code whichever runtime runs the network). Inputs come from the test photos
(``python -m tests.data.fetch``) and the model files (``python -m models.provision``).
"""

from __future__ import annotations

import argparse
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.face.face_align import arcface_input, warp_face
from models.face.scrfd import ScrfdDetector
from models.runtime import RuntimeOptions
from tests.data.fetch import catalogue, photo_dir

DETECTOR, DESCRIPTOR = "scrfd_500m_bnkps.onnx", "w600k_mbf.onnx"
SIZE = 640
#: Worst accepted agreement with ort-cpu: detector score difference, descriptor cosine.
TOLERANCE = {"fp32": (1e-3, 0.9999), "fp16": (2e-2, 0.999)}

Forward = Callable[[np.ndarray], list[np.ndarray]]


def letterboxed(image: np.ndarray) -> np.ndarray:
    """The photo scaled into a SIZE x SIZE canvas, top left (as the detector sees it)."""
    scale = SIZE / max(image.shape[:2])
    h, w = round(image.shape[0] * scale), round(image.shape[1] * scale)
    canvas = np.zeros((SIZE, SIZE, 3), np.uint8)
    canvas[:h, :w] = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    return canvas


def inputs(models: Path) -> tuple[np.ndarray, np.ndarray, float]:
    """Detector blobs of every photo, descriptor blobs of every face found, faces per image."""
    photos = [cv2.imread(str(photo_dir() / name), cv2.IMREAD_COLOR) for name in catalogue()]
    detector = ScrfdDetector(models / DETECTOR, RuntimeOptions(device="cpu"))
    faces = [(p, f) for p in photos for f in detector.run([p])[0]]
    crops = [arcface_input(warp_face(p, f.landmarks5)) for p, f in faces]
    det = cv2.dnn.blobFromImages(
        [letterboxed(p) for p in photos], 1 / 128, None, (127.5,) * 3, swapRB=True
    )
    desc = cv2.dnn.blobFromImages(crops, 1 / 127.5, (112, 112), (127.5,) * 3, swapRB=True)
    return det, desc, len(faces) / len(photos)


def ort_runtimes(models: Path) -> dict[str, dict[str, Forward]]:
    """onnxruntime on the CPU, and on CUDA where its provider is present."""
    import onnxruntime as ort

    devices = ["cpu"]
    if "CUDAExecutionProvider" in ort.get_available_providers():
        devices.append("cuda")

    def forward(session: ort.InferenceSession) -> Forward:
        name = session.get_inputs()[0].name
        return lambda x: session.run(None, {name: x})

    options = ort.SessionOptions()
    options.log_severity_level = 3  # ArcFace's graph declares batch 1 and warns at every batch
    out = {}
    for device in devices:
        providers = ["CUDAExecutionProvider"] if device == "cuda" else ["CPUExecutionProvider"]
        out[f"ort-{device}"] = {
            m: forward(ort.InferenceSession(str(models / m), options, providers=providers))
            for m in (DETECTOR, DESCRIPTOR)
        }
    return out


def torch_runtimes(models: Path) -> dict[str, dict[str, Forward]]:
    """The ONNX graphs as PyTorch modules (onnx2torch): CPU, CUDA, CUDA fp16 where present."""
    try:
        import torch

        convert = _onnx2torch_convert()
    except ImportError as exc:
        print(f"no torch runtime: {exc}")
        return {}
    variants = [("cpu", torch.float32)]
    if torch.cuda.is_available():
        variants += [("cuda", torch.float32), ("cuda", torch.float16)]
    out = {}
    for device, dtype in variants:
        modules = {m: convert(str(models / m)).eval().to(device=device, dtype=dtype)
                   for m in (DETECTOR, DESCRIPTOR)}  # fmt: skip

        def forward(module, device=device, dtype=dtype) -> Forward:
            def run(x: np.ndarray) -> list[np.ndarray]:
                with torch.inference_mode():
                    y = module(torch.from_numpy(x).to(device=device, dtype=dtype))
                ys = y if isinstance(y, (list, tuple)) else [y]
                return [t.float().cpu().numpy() for t in ys]

            return run

        name = f"torch-{device}" + ("-fp16" if dtype == torch.float16 else "")
        out[name] = {m: forward(module) for m, module in modules.items()}
    return out


def _onnx2torch_convert() -> Callable:
    """onnx2torch's ``convert``. onnx2torch imports torchvision when it loads, for its
    NonMaxSuppression and RoiAlign converters alone; neither of our graphs has those nodes,
    so on a host whose torchvision is missing or built for another torch, empty modules
    stand in (a graph that needed them would fail to convert, not convert wrongly)."""
    try:
        from onnx2torch import convert
    except (ImportError, RuntimeError) as exc:
        if "torchvision" not in str(exc) and not isinstance(exc, RuntimeError):
            raise
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        stand_in, ops = types.ModuleType("torchvision"), types.ModuleType("torchvision.ops")
        stand_in.ops = ops  # type: ignore[attr-defined]
        stand_in.__path__ = []  # a package, so that `from torchvision.ops import ...` resolves
        ops.roi_align = None  # type: ignore[attr-defined]
        sys.modules.update({"torchvision": stand_in, "torchvision.ops": ops})
        from onnx2torch import convert
    return convert


def rate(forward: Forward, blob: np.ndarray, batch: int, seconds: float) -> float:
    """Items per second of ``forward`` on batches of ``batch`` items cycled from ``blob``."""
    reps = -(-batch // len(blob))
    x = np.ascontiguousarray(np.concatenate([blob] * reps)[:batch])
    forward(x)  # warm-up (CUDA kernels, allocator)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or done == 0:
        forward(x)  # results come back to the host: the call is complete
        done += batch
    return done / (time.perf_counter() - start)


def agreement(forward: Forward, reference: Forward, det: np.ndarray, desc: np.ndarray):
    """Largest detector score difference and lowest descriptor cosine against the reference,
    image by image and on the face crops as one batch."""
    score_diff = 0.0
    for i in range(len(det)):
        ours, theirs = forward[DETECTOR](det[i : i + 1]), reference[DETECTOR](det[i : i + 1])
        # Outputs in the model's order: the first three are the scores of strides 8/16/32.
        for a, b in zip(ours[:3], theirs[:3], strict=True):
            score_diff = max(score_diff, float(np.abs(a - b).max()))
    a, b = forward[DESCRIPTOR](desc)[0], reference[DESCRIPTOR](desc)[0]
    cosines = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    return score_diff, float(cosines.min())


def main(argv: list[str] | None = None) -> int:
    """Measure every runtime present and print one table; 1 when outputs disagree."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, default=Path(".data/models"))
    parser.add_argument("--batches", default="1,8,32,64")
    parser.add_argument("--seconds", type=float, default=3.0)
    options = parser.parse_args(argv)
    batches = [int(b) for b in options.batches.split(",")]
    det, desc, faces_per_image = inputs(options.models)
    runtimes = {**ort_runtimes(options.models), **torch_runtimes(options.models)}
    reference = runtimes["ort-cpu"]
    print(f"{len(det)} photos, {len(desc)} faces ({faces_per_image:.2f} per image)")
    print(f"{'runtime':<16}{'model':<12}{'batch':>6}{'items/s':>10}  agreement with ort-cpu")
    failed, summary = False, []
    for name, forward in runtimes.items():
        score_diff, cosine = agreement(forward, reference, det, desc)
        max_diff, min_cos = TOLERANCE["fp16" if name.endswith("fp16") else "fp32"]
        ok = score_diff <= max_diff and cosine >= min_cos
        failed |= not ok
        best = {}
        for model, label in ((DETECTOR, "detector"), (DESCRIPTOR, "descriptor")):
            blob = det if model == DETECTOR else desc
            for batch in batches:
                items = rate(forward[model], blob, batch, options.seconds)
                best[label] = max(best.get(label, 0.0), items)
                check = (
                    f"max score diff {score_diff:.1e}" if label == "detector"
                    else f"min cosine {cosine:.6f}"
                )  # fmt: skip
                print(f"{name:<16}{label:<12}{batch:>6}{items:>10.1f}  "
                      f"{check} {'ok' if ok else 'FAIL'}")  # fmt: skip
        pipeline = 1 / (1 / best["detector"] + faces_per_image / best["descriptor"])
        summary.append(f"{name:<16}detect + descriptor at best batches: {pipeline:.1f} images/s")
    print("\n".join(summary))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

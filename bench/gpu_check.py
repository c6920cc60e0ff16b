"""Device check: which onnxruntime providers exist here, and (with CUDA) the adapters' speed.

Usage: ``python bench/gpu_check.py`` from the repository root, with .data/models and
.data/testdata present. Prints the providers; where CUDA is available it runs the detector
and the descriptor model on the test photos on CPU and on CUDA and prints images/s of each.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import onnxruntime as ort

from models.face.arcface import ArcFaceExtractor
from models.face.face_align import warp_face
from models.face.scrfd import ScrfdDetector
from models.runtime import RuntimeOptions

ROOT = Path(__file__).resolve().parents[1] / ".data"


def rate(function, items, seconds: float = 5.0) -> float:
    """Items per second of ``function`` over whole passes of ``items``."""
    function(items)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        function(items)
        done += len(items)
    return done / (time.perf_counter() - start)


def main() -> None:
    """Print providers and, with CUDA, CPU vs CUDA throughput."""
    print("onnxruntime", ort.__version__, ort.get_available_providers())
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        print("no CUDA provider: nothing to measure on the GPU with this onnxruntime")
        return
    images = [cv2.imread(str(p)) for p in sorted((ROOT / "testdata").glob("*.jpg"))]
    for device in ("cpu", "cuda"):
        runtime = RuntimeOptions(device=device, intra_op_threads=4, require_device=True)
        detector = ScrfdDetector(ROOT / "models/scrfd_500m_bnkps.onnx", runtime)
        extractor = ArcFaceExtractor(ROOT / "models/w600k_mbf.onnx", runtime)
        faces = [(image, face) for image in images for face in detector.run([image])[0]]
        warps = [warp_face(image, face.landmarks5) for image, face in faces] * 4
        print(device, detector.model.providers)
        print(f"  detector batch 8: {rate(detector.run, images[:8]):.1f} img/s")
        print(f"  descriptor batch {len(warps)}: {rate(extractor.extract, warps):.1f} faces/s")


if __name__ == "__main__":
    main()

"""The GPU proof script runs here on the CPU: every runtime present agrees with onnxruntime."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import gpu_check


def test_gpu_check_prints_its_table_and_agrees_on_the_cpu(models_dir, photos, capsys):
    code = gpu_check.main(
        ["--models", str(models_dir), "--seconds", "0.05", "--batches", "1,4"]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    rows = [line.split() for line in out.splitlines() if line.startswith(("ort-", "torch-"))]
    measured = {(r[0], r[1], r[2]) for r in rows if r[2].isdigit()}
    runtimes = ["ort-cpu"]
    if importlib.util.find_spec("torch") and importlib.util.find_spec("onnx2torch"):
        runtimes.append("torch-cpu")  # the converted graphs, as a CUDA host runs them
    for runtime in runtimes:
        for model in ("detector", "descriptor"):
            assert {(runtime, model, "1"), (runtime, model, "4")} <= measured
        assert f"{runtime:<16}detect + descriptor at best batches" in out
    assert all(r[-1] == "ok" for r in rows if r[2].isdigit())

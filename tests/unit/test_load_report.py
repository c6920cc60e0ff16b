"""The load tool's report and plot, on a recorded run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from load import Done, parse_mix, parse_steps, plot, report


def test_steps_and_mix_parse_and_refuse_nonsense():
    assert parse_steps("2:30,24:90") == [(2, 30.0), (24, 90.0)]
    assert parse_mix("detector=3,match=1") == {"detector": 3.0, "match": 1.0}
    for bad in ("0:10", "2:0", "x"):
        with pytest.raises(ValueError):
            parse_steps(bad)
    with pytest.raises(ValueError, match="unknown"):
        parse_mix("detector=1,upload=2")


def test_report_gives_each_step_its_rate_latency_errors_and_replicas(tmp_path):
    steps = [(1, 10.0), (4, 10.0), (0, 10.0)]
    done = [Done(0.5 + i, 0, "detector", 200, None, 0.1) for i in range(10)]
    done += [Done(10.2 + i / 4, 1, "sdk", 200, None, 0.3) for i in range(36)]
    done += [Done(15.0, 1, "sdk", 503, 2, 0.01), Done(16.0, 1, "match", 0, None, 5.0)]
    samples = [(1.0, {"face_detector": 1, "Ingress": 1}), (12.0, {"face_detector": 3,
               "Ingress": 1}), (25.0, {"face_detector": 1, "Ingress": 1})]  # fmt: skip
    text = report(done, steps, samples, None)
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("|")}
    assert "| 1 | 1 | 10 | 1.0 | 100 | 100 | 100 | none |" in text
    assert "| 2 | 4 | 10 | 3.8 | 300 | 300 | 300 | 0: 1, 503/2: 1 |" in text
    assert "| 3 | 0 | 10 | 0 |" in text  # the tail after the load: no requests
    assert rows["face_detector"].split("|")[2:5] == [" 1-1 ", " 3-3 ", " 1-1 "]
    assert "| sdk | 37 | 300 | 300 | 1 |" in text

    plot(done, steps, samples, tmp_path / "load.png")
    assert (tmp_path / "load.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_says_why_replicas_are_missing():
    text = report([Done(0.1, 0, "detector", 200, None, 0.1)], [(1, 1.0)], [], "ConnectionError")
    assert "No replica samples (ConnectionError)" in text

"""The Grafana dashboard in cluster/ asks only for metrics the service declares."""

from __future__ import annotations

import json
import re
from pathlib import Path

from deployments import metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "cluster" / "grafana-dashboard.json"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def test_every_dashboard_query_names_a_declared_metric():
    declared = {
        m.name + suffix
        for m in vars(metrics).values()
        if isinstance(m, metrics._Metric)
        for suffix in SUFFIXES[m.kind]
    }
    panels = json.loads(DASHBOARD.read_text())["panels"]
    used = {name for p in panels for t in p["targets"] for name in re.findall(r"luna_\w+", t["expr"])}
    assert used and used <= declared, used - declared
    # Every metric the service declares has a panel.
    assert {re.sub(r"_(total|bucket|sum|count)$", "", n) for n in used} == {
        m.name for m in vars(metrics).values() if isinstance(m, metrics._Metric)
    }


def test_recording_outside_ray_is_a_no_op():
    metrics.REQUESTS.inc(route="/x", method="GET", status="200")
    metrics.REQUEST_SECONDS.observe(0.01, route="/x", method="GET")
    metrics.INDEX_FACES.set(3, shard="0")

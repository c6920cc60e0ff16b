"""Ray Serve config profiles, picked by name: ``laptop``, ``gpu``, ``loadtest``.

A profile is a Ray Serve config file. One may name a ``base:`` profile file and list only
what it changes: its ``deployments`` are merged into the base's by name, key by key (a key
set to null is removed, e.g. ``num_replicas`` where ``autoscaling_config`` takes over), and
its ``args`` into the application's args. The launcher writes the merged config beside the
data (``serve_config.run.yaml``), so ``serve deploy`` can take it as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
#: Profile name -> its file, relative to the repository root.
PROFILES = {
    "laptop": "serve_config.yaml",  # local Ray, SQLite, CPU models, fixed replicas
    "gpu": "serve_config.gpu.yaml",  # fractional GPUs per estimator, autoscaled, auth on
    "loadtest": "profiles/loadtest.yaml",  # laptop + autoscaling on every estimator and ingress
}


def profile_path(name: str) -> Path:
    """The file of profile ``name``; ValueError naming the profiles there are."""
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}: one of {', '.join(PROFILES)}")
    return ROOT / PROFILES[name]


def load_config(path: Path) -> dict[str, Any]:
    """The Serve config of ``path``, with its ``base:`` merged in."""
    config = yaml.safe_load(path.read_text()) or {}
    base_name = config.pop("base", None)
    if base_name is None:
        return config
    base = load_config((path.parent / base_name).resolve())
    return _merge_profile(base, config)


def _merge_profile(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    overlay = dict(overlay)
    changes = {d["name"]: d for d in overlay.pop("deployments", [])}
    args = overlay.pop("args", {})
    merged = {**base, **overlay}
    apps = []
    for app in base.get("applications", []):
        app = dict(app)
        app["args"] = _merge(app.get("args") or {}, args)
        known = {d["name"] for d in app.get("deployments", [])}
        if unknown := set(changes) - known:
            raise ValueError(f"profile changes deployments the base lacks: {sorted(unknown)}")
        app["deployments"] = [
            _merge(d, changes.get(d["name"], {})) for d in app.get("deployments", [])
        ]
        apps.append(app)
    merged["applications"] = apps
    return merged


def _merge(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in change.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out

"""Application builder named by serve_config.yaml: ``import_path: serve_app.ray_app:build_app``."""

from __future__ import annotations

from typing import Any

import ray
from ray.serve import Application

from deployments.estimators import DEPLOYMENTS
from serve_app.ingress import Ingress
from serve_app.settings import Settings


def build_app(args: dict[str, Any]) -> Application:
    """Bind the ingress to one deployment per configured model estimator."""
    settings = Settings.from_args(args)
    if settings.require_gpu:
        _check_gpu()
    payload = settings.model_dump(mode="json")
    handles = {
        name: deployment.bind(payload)
        for name, deployment in DEPLOYMENTS.items()
        if settings.estimator(name) is not None
    }
    deployment = {
        "runtime": "ray-serve",
        "ray_version": ray.__version__,
        "estimators": sorted(handles),
    }
    return Ingress.bind(payload, deployment, **handles)


def _check_gpu() -> None:
    # A deployment asking for a GPU fraction on a cluster without GPUs waits in STARTING
    # forever and every request hangs; fail the deploy with a reason instead.
    gpus = ray.cluster_resources().get("GPU", 0) if ray.is_initialized() else 0
    if gpus <= 0:
        raise RuntimeError(
            "this configuration requires a GPU (require_gpu: true) but the Ray cluster has "
            "none; use serve_config.yaml (the CPU profile) on machines without GPUs"
        )

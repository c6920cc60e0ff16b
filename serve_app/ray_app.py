"""Application builder named by serve_config.yaml: ``import_path: serve_app.ray_app:build_app``."""

from __future__ import annotations

from typing import Any

import ray
from ray.serve import Application

from deployments.estimator import estimator_app
from serve_app.estimators import build_estimator
from serve_app.ingress import Ingress
from serve_app.settings import Settings


def deployed_estimators(settings: Settings) -> list[str]:
    """The configured estimators that get a deployment of their own: every one but the
    classical methods cheap enough to run in the ingress."""
    return [
        task
        for task, config in settings.estimators.items()
        if config.enabled and not build_estimator(settings, task).in_ingress
    ]


def build_app(args: dict[str, Any]) -> Application:
    """Bind the ingress to one deployment per deployed estimator, each given only its own
    settings and named after its config key."""
    settings = Settings.from_args(args)
    if settings.require_gpu:
        _check_gpu()
    handles = {
        task: estimator_app(
            task,
            {
                "config": settings.estimators[task].model_dump(mode="json"),
                "models_dir": str(settings.resolved_models_dir),
                "manifest": settings.models,
            },
        )
        for task in deployed_estimators(settings)
    }
    deployment = {
        "runtime": "ray-serve",
        "ray_version": ray.__version__,
        "estimators": sorted(handles),
    }
    return Ingress.bind(settings.model_dump(mode="json"), deployment, handles)


def _check_gpu() -> None:
    # A deployment asking for a GPU fraction on a cluster without GPUs waits in STARTING
    # forever and every request hangs; fail the deploy with a reason instead.
    gpus = ray.cluster_resources().get("GPU", 0) if ray.is_initialized() else 0
    if gpus <= 0:
        raise RuntimeError(
            "this configuration requires a GPU (require_gpu: true) but the Ray cluster has "
            "none; use serve_config.yaml (the CPU profile) on machines without GPUs"
        )

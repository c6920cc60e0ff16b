"""Application builder named by serve_config.yaml: ``import_path: serve_app.ray_app:build_app``."""

from __future__ import annotations

from typing import Any

import ray
from ray.serve import Application

from deployments.estimator import estimator_app
from deployments.matcher import MatcherShard
from serve_app.estimators import build_estimator
from serve_app.ingress import Ingress
from serve_app.matching import load_pages, shard_name
from serve_app.matching.changes import follower_for
from serve_app.settings import Settings


def deployed_estimators(settings: Settings) -> list[str]:
    """The configured estimators that get a deployment of their own: every one but the
    classical methods cheap enough to run in the ingress."""
    return [
        task
        for task, config in settings.estimators.items()
        if config.enabled and not build_estimator(settings, task).in_ingress
    ]


def matcher_shards(settings: Settings) -> list[Application]:
    """One deployment per matcher shard (``matcher_shard_<i>``), each bound to the loader it
    builds its index with and its own settings; none without a descriptor model."""
    if settings.estimator("face_descriptor") is None:
        return []
    model = build_estimator(settings, "face_descriptor")
    count = settings.matcher.shards
    payload = settings.matcher.shard_settings(
        settings.resolved_database_url, model.descriptor_version, model.descriptor_size
    )
    return [
        MatcherShard.options(name=shard_name(index)).bind(
            load_pages, index, count, payload, follower_for
        )
        for index in range(count)
    ]


def deployment_names(settings: Settings) -> set[str]:
    """The deployments the application has: a config must configure exactly these."""
    shards = settings.matcher.shards if settings.estimator("face_descriptor") else 0
    return {"Ingress", *deployed_estimators(settings), *(shard_name(i) for i in range(shards))}


def build_app(args: dict[str, Any]) -> Application:
    """Bind the ingress to one deployment per deployed estimator, each given only its own
    settings and named after its config key, and to the matcher's shards."""
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
    shards = matcher_shards(settings)
    deployment["matcher_shards"] = len(shards)
    return Ingress.bind(settings.model_dump(mode="json"), deployment, handles, shards)


def _check_gpu() -> None:
    # A deployment asking for a GPU fraction on a cluster without GPUs waits in STARTING
    # forever and every request hangs; fail the deploy with a reason instead.
    gpus = ray.cluster_resources().get("GPU", 0) if ray.is_initialized() else 0
    if gpus <= 0:
        raise RuntimeError(
            "this configuration requires a GPU (require_gpu: true) but the Ray cluster has "
            "none; use serve_config.yaml (the CPU profile) on machines without GPUs"
        )

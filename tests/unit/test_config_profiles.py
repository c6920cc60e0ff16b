"""The shipped Ray Serve configs: valid, complete, and safe on the machines they target."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ray.serve.schema import ServeDeploySchema

from serve_app.ray_app import deployment_names
from serve_app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PROFILES = {"cpu": ROOT / "serve_config.yaml", "gpu": ROOT / "serve_config.gpu.yaml"}


def load(profile: str) -> dict:
    return yaml.safe_load(PROFILES[profile].read_text())


@pytest.mark.parametrize("profile", PROFILES)
def test_profile_is_a_valid_serve_config_for_our_app(profile):
    config = load(profile)
    ServeDeploySchema.model_validate(config)
    [app] = config["applications"]
    assert app["import_path"] == "serve_app.ray_app:build_app"
    settings = Settings.from_args(app["args"])  # the app's own settings validate too
    deployments = {d["name"]: d for d in app["deployments"]}
    assert set(deployments) == deployment_names(settings)
    detector = deployments["face_detector"]
    # Ray's default of 5 would cap batches at 5.
    assert detector["max_ongoing_requests"] >= 2 * detector["user_config"]["max_batch_size"]


def test_cpu_profile_asks_for_no_gpu_and_listens_on_lunas_port():
    config = load("cpu")
    assert config["http_options"]["port"] == 5090
    [app] = config["applications"]
    for deployment in app["deployments"]:
        assert deployment.get("ray_actor_options", {}).get("num_gpus", 0) == 0
    # Every replica must fit on 2 cores, with room for a second matcher shard (Ray leaves a
    # replica that does not fit pending for ever).
    shares = [d.get("ray_actor_options", {}).get("num_cpus", 1) for d in app["deployments"]]
    assert sum(shares) <= 1.95 + 1e-9
    for estimator in app["args"]["estimators"].values():
        assert estimator.get("runtime", {}).get("device", "cpu") == "cpu"


def test_gpu_profile_uses_gpu_fractions_and_fails_fast_without_gpus():
    [app] = load("gpu")["applications"]
    assert app["args"]["require_gpu"] is True
    detector = next(d for d in app["deployments"] if d["name"] == "face_detector")
    assert 0 < detector["ray_actor_options"]["num_gpus"] < 1
    assert "autoscaling_config" in detector
    runtime = app["args"]["estimators"]["face_detector"]["runtime"]
    assert runtime["device"] == "cuda" and runtime["require_device"] is True


def test_requiring_a_gpu_where_there_is_none_is_a_clear_error():
    from serve_app.ray_app import build_app

    [app] = load("gpu")["applications"]
    with pytest.raises(RuntimeError, match="requires a GPU"):
        build_app(app["args"])


def test_cpu_profile_builds_the_application():
    from serve_app.ray_app import build_app

    [app] = load("cpu")["applications"]
    assert build_app(app["args"]) is not None


def test_kuberay_manifest_carries_a_valid_config_for_every_deployment():
    manifest = yaml.safe_load((ROOT / "cluster" / "rayservice.yaml").read_text())
    config = yaml.safe_load(manifest["spec"]["serveConfigV2"])
    ServeDeploySchema.model_validate(config)
    [app] = config["applications"]
    settings = Settings.from_args(app["args"])
    names = {d["name"] for d in app["deployments"]}
    assert names == deployment_names(settings)

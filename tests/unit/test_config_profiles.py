"""The shipped Ray Serve configs: valid, complete, and safe on the machines they target."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ray.serve.schema import ServeDeploySchema

from serve_app.profiles import PROFILES as BY_NAME
from serve_app.profiles import load_config, profile_path
from serve_app.ray_app import deployment_names
from serve_app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PROFILES = {"cpu": "laptop", "gpu": "gpu", "loadtest": "loadtest"}


def load(profile: str) -> dict:
    return load_config(profile_path(PROFILES[profile]))


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


def test_profiles_by_name_are_the_shipped_files():
    assert set(BY_NAME) == {"laptop", "gpu", "loadtest"}
    assert yaml.safe_load((ROOT / "serve_config.yaml").read_text()) == load("cpu")
    with pytest.raises(ValueError, match="laptop, gpu, loadtest"):
        profile_path("fast")


def test_loadtest_profile_autoscales_the_ingress_and_every_estimator_within_two_cores():
    base = {d["name"]: d for d in load("cpu")["applications"][0]["deployments"]}
    [app] = load("loadtest")["applications"]
    assert app["args"] == load("cpu")["applications"][0]["args"]  # the same models and limits
    deployments = {d["name"]: d for d in app["deployments"]}
    assert set(deployments) == set(base)
    for name, deployment in deployments.items():
        scaling = deployment.get("autoscaling_config")
        if name.startswith("matcher_shard_"):
            assert scaling is None and deployment["num_replicas"] == 1  # loads before answering
            continue
        assert "num_replicas" not in deployment, name
        assert scaling["min_replicas"] == 1 < scaling["max_replicas"], name
        assert scaling["upscale_delay_s"] < scaling["downscale_delay_s"], name
        # Everything else (batching, ongoing requests, logging) is the laptop profile's.
        assert deployment.get("user_config") == base[name].get("user_config")
        assert deployment["max_ongoing_requests"] == base[name]["max_ongoing_requests"]
    # Every replica at its maximum still fits Ray's count of a 2-core machine.
    peak = sum(
        d["ray_actor_options"].get("num_cpus", 1)
        * (d.get("autoscaling_config") or {"max_replicas": d.get("num_replicas", 1)})[
            "max_replicas"
        ]
        for d in deployments.values()
    )
    assert peak <= 2.0


def test_direct_ingress_keeps_the_service_port_for_the_ingress_and_moves_the_proxy():
    from serve_app.launch import direct_ingress, effective_config

    config = effective_config(load_config(profile_path("laptop")), "127.0.0.1", 5090)
    environ: dict[str, str] = {}
    changed = direct_ingress(config, environ)
    # Clients keep the URL: the ingress replica listens on 5090 itself (a second on 5091...).
    assert environ["RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT"] == "5090"
    assert int(environ["RAY_SERVE_DIRECT_INGRESS_MAX_HTTP_PORT"]) > 5090
    assert environ["RAY_SERVE_THROUGHPUT_OPTIMIZED"] == "1"
    assert changed["http_options"]["port"] == 5190
    assert config["http_options"]["port"] == 5090  # the caller's config is left as it was
    ServeDeploySchema.model_validate(changed)

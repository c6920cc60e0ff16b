"""The cluster manifests checked against the schemas of the tools that read them, offline:

- cluster/rayservice.yaml against KubeRay's RayService CRD (its OpenAPI schema, trimmed into
  tests/data/rayservice.schema.json by tests/data/rayservice_crd.py), strictly: an unknown
  field fails, as ``kubectl apply``'s strict field validation would refuse it;
- the serveConfigV2 it embeds against Ray Serve's own config model and the app's settings;
- cluster/ray-cluster.yaml against the Ray autoscaler's cluster config schema, which ships
  inside the ray package, and through Ray's own validation that ``ray up`` runs;
- the placement cluster/README.md documents (estimators pinned to a worker group that offers
  ``luna_estimators``) applied to the manifest, which must stay valid and consistent.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import ray
import yaml
from ray.serve.schema import ServeDeploySchema

from serve_app.ray_app import deployment_names
from serve_app.settings import Settings
from tests.e2e.test_two_nodes import (
    ESTIMATOR_RESOURCE,
    HEAD_RESOURCE,
    on_head,
    pin_deployments,
)

ROOT = Path(__file__).resolve().parents[2]
RAYSERVICE = ROOT / "cluster" / "rayservice.yaml"
RAY_CLUSTER = ROOT / "cluster" / "ray-cluster.yaml"
CRD_SCHEMA = ROOT / "tests" / "data" / "rayservice.schema.json"
AUTOSCALER_SCHEMA = Path(ray.__file__).parent / "autoscaler" / "ray-schema.json"


def strict(schema: Any) -> Any:
    """``schema`` with unknown fields refused wherever the CRD lists an object's fields.
    Kubernetes prunes unknown fields silently unless the client asks for strict validation
    (kubectl's default): a misspelt field would otherwise just vanish from the cluster."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@pytest.fixture(scope="module")
def rayservice_validator() -> jsonschema.Validator:
    # The CRD's structural OpenAPI v3 schema is a subset of JSON Schema draft 4+; its
    # x-kubernetes-* keywords are annotations a JSON Schema validator skips.
    schema = strict(json.loads(CRD_SCHEMA.read_text()))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def errors(validator: jsonschema.Validator, document: dict[str, Any]) -> list[str]:
    """Every schema violation of ``document``, with where it is."""
    return [
        f"{'.'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def rayservice() -> dict[str, Any]:
    return yaml.safe_load(RAYSERVICE.read_text())


def test_the_crd_schema_is_kuberays_v1_rayservice():
    schema = json.loads(CRD_SCHEMA.read_text())
    assert "RayService (ray.io/v1)" in schema["$comment"]
    spec = schema["properties"]["spec"]["properties"]
    assert {"serveConfigV2", "rayClusterConfig"} <= set(spec)
    worker = spec["rayClusterConfig"]["properties"]["workerGroupSpecs"]["items"]
    assert {"groupName", "rayStartParams", "template"} <= set(worker["properties"])


def test_rayservice_manifest_matches_the_crd(rayservice_validator):
    manifest = rayservice()
    assert (manifest["apiVersion"], manifest["kind"]) == ("ray.io/v1", "RayService")
    assert manifest["metadata"]["name"]
    assert errors(rayservice_validator, manifest) == []


@pytest.mark.parametrize(
    ("change", "found"),
    [
        (lambda m: m["spec"].update(serveConfig=m["spec"]["serveConfigV2"]), "serveConfig"),
        (
            lambda m: m["spec"]["rayClusterConfig"]["workerGroupSpecs"][0].update(replica=2),
            "replica",
        ),
        # rayStartParams are strings: an unquoted 0 in YAML is an integer, refused.
        (
            lambda m: m["spec"]["rayClusterConfig"]["headGroupSpec"]["rayStartParams"].update(
                {"num-cpus": 0}
            ),
            "rayStartParams.num-cpus",
        ),
        (
            lambda m: m["spec"]["rayClusterConfig"]["workerGroupSpecs"][0].pop("groupName"),
            "groupName",
        ),
        (
            lambda m: m["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"][
                "containers"
            ][0].update(envs=[]),
            "envs",
        ),
    ],
)
def test_the_crd_check_catches_mistakes(rayservice_validator, change, found):
    manifest = rayservice()
    change(manifest)
    problems = errors(rayservice_validator, manifest)
    assert problems and any(found in problem for problem in problems), problems


def test_serve_config_of_the_rayservice_is_valid_for_ray_serve_and_the_app():
    config = yaml.safe_load(rayservice()["spec"]["serveConfigV2"])
    ServeDeploySchema.model_validate(config)
    [app] = config["applications"]
    assert app["import_path"] == "serve_app.ray_app:build_app"
    names = {d["name"] for d in app["deployments"]}
    assert names == deployment_names(Settings.from_args(app["args"]))


def test_ray_cluster_config_matches_the_autoscaler_schema():
    config = yaml.safe_load(RAY_CLUSTER.read_text())
    schema = json.loads(AUTOSCALER_SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    assert errors(validator, config) == []
    # What `ray up` runs on it: the schema again, after the local provider's node types
    # are filled in from worker_ips.
    from ray.autoscaler._private.util import prepare_config, validate_config

    validate_config(prepare_config(copy.deepcopy(config)))


def kuberay_resources(resources: dict[str, int]) -> str:
    """A ``resources`` rayStartParam in the form KubeRay and Ray's autoscaler read:
    the JSON with its quotes escaped, in a pair of quotes (KubeRay hands it to a shell)."""
    return '"' + json.dumps(resources).replace('"', '\\"') + '"'


def pinned_rayservice(manifest: dict[str, Any]) -> dict[str, Any]:
    """The placement of cluster/README.md applied to the RayService: the GPU worker group
    offers ``luna_estimators``, a CPU group offers ``luna_ingress``, and every deployment of
    serveConfigV2 asks for its node's resource."""
    manifest = copy.deepcopy(manifest)
    cluster = manifest["spec"]["rayClusterConfig"]
    [gpu] = cluster["workerGroupSpecs"]
    gpu["rayStartParams"]["resources"] = kuberay_resources({ESTIMATOR_RESOURCE: 100})
    cpu = copy.deepcopy(gpu)
    cpu["groupName"] = "cpu"
    cpu["rayStartParams"] = {"resources": kuberay_resources({HEAD_RESOURCE: 100})}
    cpu["template"]["spec"]["containers"][0]["resources"] = {
        "limits": {"cpu": "8", "memory": "32Gi"}
    }
    cluster["workerGroupSpecs"].append(cpu)
    config = pin_deployments(yaml.safe_load(manifest["spec"]["serveConfigV2"]))
    manifest["spec"]["serveConfigV2"] = yaml.safe_dump(config, sort_keys=False)
    return manifest


def autoscaler_view(manifest: dict[str, Any]) -> dict[str, Any]:
    """The cluster config Ray's in-tree autoscaler derives from the RayService's cluster
    (``enableInTreeAutoscaling``), checked by Ray's own validation: the node types it may
    start and the resources each offers. (A private Ray API: if it moves, this test says so.)"""
    from ray.autoscaler._private.kuberay.autoscaling_config import (
        _derive_autoscaling_config_from_ray_cr,
    )
    from ray.autoscaler._private.util import validate_config

    ray_cluster = {
        "metadata": {"name": manifest["metadata"]["name"], "namespace": "default"},
        "spec": manifest["spec"]["rayClusterConfig"],
    }
    config = _derive_autoscaling_config_from_ray_cr(copy.deepcopy(ray_cluster))
    validate_config(config)
    return config


def test_the_autoscaler_reads_the_rayservice_cluster():
    types = autoscaler_view(rayservice())["available_node_types"]
    head, gpu = types["headgroup"], types["gpu"]
    assert head["resources"]["CPU"] == 0  # num-cpus "0": no replica on the head
    assert gpu["resources"]["GPU"] == 1 and gpu["max_workers"] >= gpu["min_workers"] >= 1


def test_the_documented_placement_keeps_the_manifest_valid(rayservice_validator):
    manifest = pinned_rayservice(rayservice())
    assert errors(rayservice_validator, manifest) == []
    config = yaml.safe_load(manifest["spec"]["serveConfigV2"])
    ServeDeploySchema.model_validate(config)
    types = autoscaler_view(manifest)["available_node_types"]
    assert types["gpu"]["resources"][ESTIMATOR_RESOURCE] == 100
    assert types["cpu"]["resources"][HEAD_RESOURCE] == 100
    [app] = config["applications"]
    for deployment in app["deployments"]:
        asked = deployment["ray_actor_options"]
        resource = HEAD_RESOURCE if on_head(deployment["name"]) else ESTIMATOR_RESOURCE
        assert set(asked["resources"]) == {resource}
        # Some node type offers all it asks for, or its replicas would never start.
        fits = [
            name
            for name, node in types.items()
            if node["resources"].get(resource, 0) >= 1
            and node["resources"].get("CPU", 0) >= asked.get("num_cpus", 1)
            and node["resources"].get("GPU", 0) >= asked.get("num_gpus", 0)
        ]
        assert fits == (["cpu"] if resource == HEAD_RESOURCE else ["gpu"]), deployment["name"]

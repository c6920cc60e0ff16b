"""Make tests/data/rayservice.schema.json, the trimmed OpenAPI schema of KubeRay's RayService
that tests/unit/test_cluster_manifests.py checks cluster/rayservice.yaml against.

Usage: ``python -m tests.data.rayservice_crd <kuberay>/ray-operator/config/crd/bases/
ray.io_rayservices.yaml [--source "KubeRay v1.7.0"]``. Nothing is fetched: give it the CRD of
a KubeRay checkout (Apache-2.0, like this project). The tests never run this; they read the
JSON file it wrote.

Trimmed: the whole RayService spec is kept (every field KubeRay validates), but in each pod
template only the container fields a Ray node's container uses keep their full schema; every
other pod field keeps its name and type only (any content accepted), and so do the Kubernetes
objects KubeRay embeds whole (the Services, the NetworkPolicy). That cuts the schema to a
quarter while a misspelt field anywhere else is still caught.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

OUT = Path(__file__).with_name("rayservice.schema.json")
# Container fields whose schema stays whole: what the head and worker containers set.
CONTAINER_FIELDS = frozenset(
    {"name", "image", "imagePullPolicy", "command", "args", "env", "envFrom", "ports",
     "resources", "volumeMounts", "workingDir"}
)  # fmt: skip
# Kubernetes objects KubeRay embeds whole (a Service, a NetworkPolicy) that our manifests leave to
# the operator's defaults: name and type only.
EMBEDDED_OBJECTS = frozenset({"serveService", "headService", "networkPolicy"})


def collapsed(node: dict[str, Any]) -> dict[str, Any]:
    """The type of ``node`` only; an object keeps any content (Kubernetes' own marker)."""
    if "x-kubernetes-int-or-string" in node:
        return {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    kind = node.get("type")
    if kind == "object":
        return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {"type": kind} if kind else {}


def trim_pod_template(template: dict[str, Any]) -> dict[str, Any]:
    """A PodTemplateSpec's schema with everything but the Ray container fields collapsed."""
    template = dict(template)
    properties = dict(template["properties"])
    pod = dict(properties["spec"])
    pod_properties = {}
    for name, node in pod["properties"].items():
        if name == "containers":
            items = dict(node["items"])
            items["properties"] = {
                field: (schema if field in CONTAINER_FIELDS else collapsed(schema))
                for field, schema in items["properties"].items()
            }
            pod_properties[name] = {**node, "items": items}
        else:
            pod_properties[name] = collapsed(node)
    pod["properties"] = pod_properties
    properties["spec"] = pod
    properties["metadata"] = collapsed(properties["metadata"])
    template["properties"] = properties
    return template


def trim(node: Any) -> Any:
    """``node`` with every pod template (a ``template`` with a pod ``spec``) trimmed."""
    if isinstance(node, list):
        return [trim(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "description":  # prose, not schema
            continue
        is_pod_template = (
            key == "template"
            and isinstance(value, dict)
            and "containers" in value.get("properties", {}).get("spec", {}).get("properties", {})
        )
        if is_pod_template:
            out[key] = trim_pod_template(trim(value))
        elif key in EMBEDDED_OBJECTS and isinstance(value, dict) and "type" in value:
            out[key] = collapsed(value)
        else:
            out[key] = trim(value)
    return out


def rayservice_schema(crd: dict[str, Any], source: str) -> dict[str, Any]:
    """The trimmed ``openAPIV3Schema`` of the CRD's ``v1`` version."""
    [version] = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    schema = trim(version["schema"]["openAPIV3Schema"])
    # status is written by the operator, never by a manifest
    schema["properties"] = {k: v for k, v in schema["properties"].items() if k != "status"}
    return {
        "$comment": (
            f"RayService ({crd['spec']['group']}/v1) from {source}, "
            "ray-operator/config/crd/bases/ray.io_rayservices.yaml (Apache-2.0); pod templates "
            "trimmed by tests/data/rayservice_crd.py"
        ),
        **schema,
    }


def main(argv: list[str] | None = None) -> int:
    """Write tests/data/rayservice.schema.json from a RayService CRD file."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("crd", type=Path)
    parser.add_argument("--source", default="KubeRay v1.7.0")
    parser.add_argument("--out", type=Path, default=OUT)
    options = parser.parse_args(argv)
    crd = yaml.safe_load(options.crd.read_text())
    schema = rayservice_schema(crd, options.source)
    options.out.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
    print(f"{options.out}: {options.out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

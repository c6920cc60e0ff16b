"""The application on a Ray cluster of two nodes, as a real cluster places it: every estimator
deployment on a worker node that offers the ``luna_estimators`` resource, the ingress and the
matcher on the head (``luna_head``). Both nodes run on this machine, each with its own ports
and temporary directory; the config is serve_config.yaml with that placement added.

The API is checked through both nodes (detector, SDK, handlers that store faces and events,
matching), and Ray's state API must show each replica on the node it was pinned to. Every
process the cluster started is stopped afterwards, by id, and checked to be gone.

By hand (cluster/README.md, "One machine, two nodes")::

    python -m tests.e2e.test_two_nodes config --port 5090 > /tmp/luna-two-nodes.yaml
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from serve_app.launch import effective_config, max_body_bytes
from tests.conftest import new_account
from tests.e2e.conftest import ROOT
from tests.ports import free_ports

pytestmark = pytest.mark.e2e

# Custom resources that pin deployments to nodes (Ray schedules an actor only where its
# resources are offered): the ingress and the matcher shards ask for one unit of the first,
# offered by the head here; every estimator deployment for one unit of the second.
HEAD_RESOURCE = "luna_ingress"
ESTIMATOR_RESOURCE = "luna_estimators"
# Ray CPU counts only place replicas: the worker's estimators ask for 1.55 CPUs of
# serve_config.yaml, the ingress and matcher 0.4; the machine itself may have two cores.
HEAD_CPUS, WORKER_CPUS = 1, 2
START_TIMEOUT_S = 300
# `ray start` gives a raylet 30 s to register with the GCS (a constant of Ray's); on a busy
# two-core machine that has run out once in many runs. A second try, on fresh ports and
# directories, tells such a start apart from a placement that cannot work.
START_ATTEMPTS = 2
NODE_PORTS = 6  # per node, below; the head takes one more, for Ray's client server
WORKER_PORTS = {"head": 20000, "worker": 20500}  # each node's 500 worker ports start here
JPEG = {"Content-Type": "image/jpeg"}
BIN = Path(sys.executable).parent  # ray and serve of this virtual environment
# Every process of the cluster inherits this variable: teardown finds them by it.
MARKER = "LUNA_TWO_NODES_RUN"


def on_head(name: str) -> bool:
    """Whether a deployment belongs on the head: the ingress (it holds the database and the
    proxy's requests) and the matcher shards; every other one is an estimator."""
    return name == "Ingress" or name.startswith("matcher_shard_")


def pin_deployments(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` (a Serve config) with each deployment pinned to its kind of node by a custom
    resource in its ``ray_actor_options``: estimators to ``luna_estimators``, the ingress and
    the matcher shards to ``luna_ingress``. Changed in place, and returned."""
    for app in config["applications"]:
        for deployment in app.get("deployments", []):
            options = deployment.setdefault("ray_actor_options", {})
            resource = HEAD_RESOURCE if on_head(deployment["name"]) else ESTIMATOR_RESOURCE
            options["resources"] = {**(options.get("resources") or {}), resource: 1}
    return config


def placed_config(base: dict[str, Any], host: str, port: int) -> dict[str, Any]:
    """``base`` (such as serve_config.yaml) with its listen address and data paths filled in
    as the launcher does, and its deployments pinned (``pin_deployments``)."""
    return pin_deployments(effective_config(copy.deepcopy(base), host, port))


def node_commands(
    head_port: int, dashboard_port: int, temp_dir: Path, ports: dict[str, list[int]]
) -> dict[str, list[str]]:
    """The ``ray start`` commands of the head and the worker: each with the CPUs and custom
    resource of its role, its own ports and temporary directory, so that both coexist on one
    machine (two raylets would otherwise clash on the default ports). ``ports`` gives each
    role ``NODE_PORTS`` ports and the head one more, for Ray's client server."""

    def own_ports(role: str) -> list[str]:
        own = ports[role][:NODE_PORTS]
        node_manager, object_manager, metrics, agent, agent_grpc, runtime_env = own
        low = WORKER_PORTS[role]
        return [
            f"--node-manager-port={node_manager}",
            f"--object-manager-port={object_manager}",
            f"--metrics-export-port={metrics}",
            f"--dashboard-agent-listen-port={agent}",
            f"--dashboard-agent-grpc-port={agent_grpc}",
            f"--runtime-env-agent-port={runtime_env}",
            f"--min-worker-port={low}",
            f"--max-worker-port={low + 499}",
        ]

    common = [
        "--node-ip-address=127.0.0.1",
        # A small object store: requests pass images by value, and two default stores
        # (30% of memory each) would claim most of a laptop's memory.
        "--object-store-memory=268435456",
        "--disable-usage-stats",
    ]
    return {
        "head": [
            str(BIN / "ray"), "start", "--head", f"--port={head_port}",
            f"--num-cpus={HEAD_CPUS}", f"--resources={json.dumps({HEAD_RESOURCE: 100})}",
            "--dashboard-host=127.0.0.1", f"--dashboard-port={dashboard_port}",
            f"--ray-client-server-port={ports['head'][NODE_PORTS]}",
            f"--temp-dir={temp_dir / 'head'}",
            *common, *own_ports("head"),
        ],
        "worker": [
            str(BIN / "ray"), "start", f"--address=127.0.0.1:{head_port}",
            f"--num-cpus={WORKER_CPUS}", f"--resources={json.dumps({ESTIMATOR_RESOURCE: 100})}",
            f"--temp-dir={temp_dir / 'worker'}",
            *common, *own_ports("worker"),
        ],
    }  # fmt: skip


@dataclass
class TwoNodes:
    """A running two-node cluster with the application deployed on it."""

    url: str  # the service, through the head's HTTP proxy
    dashboard: str  # Ray's dashboard (state API, Serve's REST API)
    # What Ray's command-line tools need to reach it (its auth token: kept out of reports).
    env: dict[str, str] = field(repr=False)
    config: dict[str, Any] = field(repr=False)  # the Serve config deployed
    started_s: float = 0.0  # from the first `ray start` to a healthy service
    logs: list[Path] = field(default_factory=list)

    def ray(self, *args: str, timeout: float = 60) -> str:
        """Output of a Ray command-line tool (``ray`` or ``serve``) against this cluster."""
        tool, *rest = args
        done = subprocess.run(
            [str(BIN / tool), *rest],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def listed(self, kind: str) -> list[dict[str, Any]]:
        """``ray list <kind>`` (the state API) as records."""
        out = self.ray(
            "ray", "list", kind, "--address", self.dashboard, "--format", "json",
            "--detail", "--limit", "10000",
        )  # fmt: skip
        return json.loads(out)


def start_two_nodes(run_dir: Path, models_dir: Path) -> Iterator[TwoNodes]:
    """Start the head, then the worker, deploy the placed config with ``serve deploy``, yield
    once the application runs and answers its health check; stop every process afterwards.
    A cluster whose nodes do not start is stopped and started afresh once (``START_ATTEMPTS``);
    the first try's logs are then reported as a warning."""
    failures: list[str] = []
    for attempt in range(1, START_ATTEMPTS + 1):
        attempt_dir = run_dir / f"attempt-{attempt}"
        attempt_dir.mkdir()
        cluster, marker, temp_dir, commands = _prepare(attempt_dir, models_dir)
        began, deployed = time.monotonic(), False
        try:
            failure = _start_nodes(cluster, commands, attempt_dir, temp_dir)
            if failure is not None:
                failures.append(f"try {attempt}: {failure}")
                continue
            deployed = True
            _deploy(cluster, attempt_dir / "serve_config.two_nodes.yaml")
            cluster.started_s = time.monotonic() - began
            print(f"two-node cluster up in {cluster.started_s:.1f} s (try {attempt})")
            if failures:
                earlier = "\n".join(failures)
                warnings.warn(f"two-node cluster up on try {attempt}, after:\n{earlier}",
                              stacklevel=1)  # fmt: skip
            yield cluster
            return
        finally:
            _teardown(cluster, marker, temp_dir, deployed)
    pytest.fail("\n".join(failures))


def _prepare(run_dir: Path, models_dir: Path) -> tuple[TwoNodes, str, Path, dict[str, list[str]]]:
    """A cluster not yet started: its config (written to ``run_dir``), environment, ports,
    temporary directory and ``ray start`` commands; also the marker its processes carry."""
    # Unix socket paths under the session directory must stay under ~107 bytes: a short
    # directory of our own rather than pytest's deep temporary path.
    temp_dir = Path(tempfile.mkdtemp(prefix="luna2n-", dir="/tmp"))
    marker = temp_dir.name
    head_port, dashboard_port, http_port, *node_ports = free_ports(3 + 2 * NODE_PORTS + 1)
    ports = {"head": node_ports[NODE_PORTS:], "worker": node_ports[:NODE_PORTS]}
    base = yaml.safe_load((ROOT / "serve_config.yaml").read_text())
    base["applications"][0]["args"]["data_dir"] = str(run_dir / "data")
    base["applications"][0]["args"]["models_dir"] = str(models_dir)
    config = placed_config(base, "127.0.0.1", http_port)
    config_path = run_dir / "serve_config.two_nodes.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    env = {
        **os.environ,
        MARKER: marker,
        # Ray 2.60 turns token auth on by default: a token of this cluster alone, so that
        # neither ~/.ray/auth_token nor another cluster's token is read or written.
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
        "RAY_USAGE_STATS_ENABLED": "0",
        "PYTHONUNBUFFERED": "1",
        "LUNA_MODELS_DIR": str(models_dir),
        "LUNA_DATA_DIR": str(run_dir / "data"),
        # The HTTP proxy runs on the head and takes its settings from the node's environment
        # (the launcher sets these for `serve run`): refuse oversized bodies there.
        "RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH": "serve_app.http.protocol:proxy_middlewares",
        "LUNA_MAX_BODY_BYTES": str(max_body_bytes(config)),
    }
    env.pop("RAY_ADDRESS", None)
    dashboard = f"http://127.0.0.1:{dashboard_port}"
    cluster = TwoNodes(f"http://127.0.0.1:{http_port}", dashboard, env, config)
    return cluster, marker, temp_dir, node_commands(head_port, dashboard_port, temp_dir, ports)


def _start_nodes(
    cluster: TwoNodes, commands: dict[str, list[str]], run_dir: Path, temp_dir: Path
) -> str | None:
    """Start both nodes and wait for them to be alive; None, or why they did not start (with
    the ends of that node's GCS and raylet logs, which the teardown removes)."""
    for role in ("head", "worker"):
        log = run_dir / f"ray-start-{role}.log"
        cluster.logs.append(log)
        with open(log, "w") as out:
            done = subprocess.run(
                commands[role], env=cluster.env, stdout=out, stderr=subprocess.STDOUT,
                timeout=180, check=False,
            )  # fmt: skip
        if done.returncode != 0:
            return f"ray start ({role}) failed:\n{log.read_text()[-3000:]}{_ray_logs(temp_dir)}"
    try:
        _wait(lambda: len([n for n in cluster.listed("nodes") if n["state"] == "ALIVE"]) == 2,
              "two alive nodes", 60)  # fmt: skip
    except pytest.fail.Exception as error:
        return f"{error}{_ray_logs(temp_dir)}"
    return None


def _deploy(cluster: TwoNodes, config_path: Path) -> None:
    """``serve deploy`` the placed config; return once the application runs and is healthy."""
    cluster.ray("serve", "deploy", str(config_path), "--address", cluster.dashboard, timeout=120)
    _wait(lambda: _application_running(cluster), "the application RUNNING", START_TIMEOUT_S)
    _wait(lambda: _healthy(cluster.url), "a healthy service", 60)


def _ray_logs(temp_dir: Path, tail: int = 1500) -> str:
    """The ends of the GCS's and raylets' logs of a cluster under ``temp_dir``."""
    parts = []
    for path in sorted(temp_dir.glob("*/session_latest/logs/*")):
        if path.name.startswith(("gcs_server.", "raylet.")) and path.stat().st_size:
            text = path.read_text(errors="replace")[-tail:]
            parts.append(f"\n--- {path.relative_to(temp_dir)}:\n{text}")
    return "".join(parts)


def _wait(ready, what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    problem = ""
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except (AssertionError, httpx.HTTPError, ValueError, subprocess.TimeoutExpired) as error:
            problem = str(error)[-2000:]
        time.sleep(2)
    pytest.fail(f"no {what} after {timeout_s:.0f} s {problem}")


def _application_running(cluster: TwoNodes) -> bool:
    status = yaml.safe_load(cluster.ray("serve", "status", "--address", cluster.dashboard))
    app = (status.get("applications") or {}).get("luna") or {}
    if app.get("status") == "DEPLOY_FAILED":
        pytest.fail(f"deploy failed:\n{yaml.safe_dump(app)}")
    return app.get("status") == "RUNNING"


def _healthy(url: str) -> bool:
    return httpx.get(f"{url}/healthcheck", timeout=10).status_code == 200


def marked_processes(marker: str) -> list[int]:
    """Ids of this machine's processes that carry ``marker`` in their environment: those
    the cluster's ``ray start`` commands started (raylets, GCS, dashboard, workers)."""
    found = []
    needle = f"{MARKER}={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def _teardown(cluster: TwoNodes, marker: str, temp_dir: Path, deployed: bool) -> None:
    # Serve first, so that replicas exit through their own shutdown; then the cluster's
    # processes by id (never `ray stop`: it ends every Ray process of the machine by name).
    began = time.monotonic()
    if deployed:
        with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
            cluster.ray("serve", "shutdown", "--yes", "--address", cluster.dashboard, timeout=60)
    for sig, wait_s in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        for pid in marked_processes(marker):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait_s
        while marked_processes(marker) and time.monotonic() < deadline:
            time.sleep(0.5)
    left = marked_processes(marker)
    shutil.rmtree(temp_dir, ignore_errors=True)
    print(f"two-node cluster stopped in {time.monotonic() - began:.1f} s")
    assert not left, f"processes of the two-node cluster left running: {left}"


@pytest.fixture
def two_nodes(deployments) -> TwoNodes:
    """The two-node cluster of this session (it replaces any other running deployment)."""
    return deployments.get(
        "two_nodes", lambda run_dir: start_two_nodes(run_dir, deployments.models_dir)
    )


def created(response: httpx.Response) -> str:
    assert response.status_code == 201, response.text
    return next(v for k, v in response.json().items() if k.endswith("_id"))


async def test_api_through_two_nodes(two_nodes, photo_bytes, photos):
    account = {"Luna-Account-Id": new_account()}
    async with httpx.AsyncClient(base_url=two_nodes.url, headers=account, timeout=120) as client:
        detected = await client.post(
            "/1/detector", content=photo_bytes("group_six.jpg"), headers=JPEG
        )
        assert detected.status_code == 200, detected.text
        samples = detected.json()["images"][0]["detections"]["samples"]
        assert len(samples) == photos["group_six.jpg"]["faces"]

        query = (
            "detect_face=1&estimate_landmarks68=1&estimate_head_pose=1&estimate_basic_attributes=1"
            "&estimate_face_descriptor=1&estimate_emotions=1&estimate_mask=1"
        )
        sdk = await client.post(f"/1/sdk?{query}", content=photo_bytes("obama.jpg"), headers=JPEG)
        assert sdk.status_code == 200, sdk.text
        [estimation] = sdk.json()["images_estimations"][0]["estimations"]
        face = estimation["face"]
        assert len(face["detection"]["landmarks68"]) == 68
        attributes = face["attributes"]
        assert {"descriptor", "basic_attributes", "head_pose", "emotions", "mask"} <= set(
            attributes
        )
        assert attributes["basic_attributes"]["gender"] == 1

        list_id = created(await client.post("/1/lists", json={"user_data": "two nodes"}))
        register = created(
            await client.post(
                "/1/handlers",
                json={
                    "policies": {
                        "extract_policy": {
                            "extract_face_descriptor": 1,
                            "extract_basic_attributes": 1,
                        },
                        "storage_policy": {
                            "face_policy": {
                                "store_face": 1,
                                "link_to_lists_policy": [{"list_id": list_id}],
                            }
                        },
                    }
                },
            )
        )
        identify = created(
            await client.post(
                "/1/handlers",
                json={
                    "policies": {
                        "extract_policy": {"extract_face_descriptor": 1},
                        "match_policy": [
                            {"label": "known", "candidates": {"list_id": list_id}, "threshold": 0.5}
                        ],
                    }
                },
            )
        )
        stored = await client.post(
            f"/1/handlers/{register}/events", content=photo_bytes("obama.jpg"), headers=JPEG
        )
        assert stored.status_code == 201, stored.text
        [registered] = stored.json()["events"]
        face_id = registered["face"]["face_id"]
        assert (await client.get(f"/1/faces/{face_id}")).status_code == 200

        known = await client.post(
            f"/1/handlers/{identify}/events", content=photo_bytes("obama2.jpg"), headers=JPEG
        )
        assert known.status_code == 201, known.text
        [event] = known.json()["events"]
        [best] = event["matches"][0]["candidates"]
        assert best["face"]["face_id"] == face_id and best["similarity"] > 0.9
        stranger = await client.post(
            f"/1/handlers/{identify}/events", content=photo_bytes("biden.jpg"), headers=JPEG
        )
        assert stranger.json()["events"][0]["matches"][0]["candidates"] == []
        events = (await client.get("/1/events", params={"handler_id": identify})).json()
        assert events["count"] == 2

        matched = await client.post(
            "/1/matcher/faces",
            json={
                "references": [{"type": "face_id", "id": face_id}],
                "candidates": [{"filters": {"list_id": list_id}, "limit": 1}],
            },
        )
        assert matched.status_code == 200, matched.text
        [own] = matched.json()[0]["matches"][0]["result"]
        assert own["face"]["face_id"] == face_id and own["similarity"] > 0.99


def test_replicas_run_on_the_nodes_they_are_pinned_to(two_nodes):
    nodes = {n["node_id"]: n for n in two_nodes.listed("nodes") if n["state"] == "ALIVE"}
    [head] = [i for i, n in nodes.items() if n["is_head_node"]]
    [worker] = [i for i, n in nodes.items() if not n["is_head_node"]]
    assert nodes[worker]["resources_total"][ESTIMATOR_RESOURCE] == 100
    assert nodes[head]["resources_total"][HEAD_RESOURCE] == 100

    # Serve names replica actors "ServeReplica:<application>:<deployment>".
    replicas: dict[str, set[str]] = {}
    for actor in two_nodes.listed("actors"):
        if actor["state"] == "ALIVE" and actor["class_name"].startswith("ServeReplica:luna:"):
            replicas.setdefault(actor["class_name"].split(":", 2)[2], set()).add(actor["node_id"])
    [app] = two_nodes.config["applications"]
    configured = {d["name"] for d in app["deployments"]}
    assert set(replicas) == configured
    estimators = {name for name in configured if not on_head(name)}
    assert len(estimators) >= 8  # face_detector, face_descriptor, ... of serve_config.yaml
    assert {name for name, where in replicas.items() if where == {worker}} == estimators
    assert {name for name, where in replicas.items() if where == {head}} == configured - estimators

    # `serve status` agrees: every deployment healthy.
    status = yaml.safe_load(two_nodes.ray("serve", "status", "--address", two_nodes.dashboard))
    deployments = status["applications"]["luna"]["deployments"]
    assert {name for name, d in deployments.items() if d["status"] == "HEALTHY"} == configured


def main(argv: list[str] | None = None) -> int:
    """``config``: print serve_config.yaml with the two-node placement, for ``serve deploy``."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("command", choices=["config"])
    parser.add_argument("--config", type=Path, default=ROOT / "serve_config.yaml")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5090)
    options = parser.parse_args(argv)
    base = yaml.safe_load(options.config.read_text())
    sys.stdout.write(
        yaml.safe_dump(placed_config(base, options.host, options.port), sort_keys=False)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Real Ray Serve deployments for the end-to-end tests: serve_config.yaml as the README runs
it, and (for the tests that ask for it) the same application on PostgreSQL with two matcher
shards and authentication on.

Each is started through the same launcher the README's run command uses, on a free port,
once per test session (Ray costs ~15 s to start), and stopped with the session.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import ACCOUNT
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 240
ADMIN_LOGIN, ADMIN_PASSWORD = "e2e-admin@example.org", "an e2e admin password"


class Deployments:
    """The running ``serve run`` of this session; one at a time, since two local Rays on a
    small machine would only starve each other. Asking for another stops the current one."""

    def __init__(self, tmp_path_factory, models_dir: Path) -> None:
        self.tmp_path_factory = tmp_path_factory
        self.models_dir = models_dir
        self.kind: str | None = None
        self.value = None
        self._running = None

    def get(self, kind: str, start):
        """The deployment ``kind``, started by ``start(run_dir)`` (a generator) if need be."""
        if self.kind != kind:
            self.stop()
            self._running = start(self.tmp_path_factory.mktemp(kind))
            self.value, self.kind = next(self._running), kind
        return self.value

    def stop(self) -> None:
        """Stop the running deployment, if any."""
        if self._running is not None:
            self._running.close()
        self._running, self.kind, self.value = None, None, None


@pytest.fixture(scope="session")
def deployments(tmp_path_factory, models_dir, photos):
    running = Deployments(tmp_path_factory, models_dir)
    yield running
    running.stop()


@pytest.fixture
def service_url(deployments):
    """The laptop profile as the README runs it: SQLite, one matcher shard, no auth."""
    return deployments.get(
        "serve",
        lambda run_dir: _serve(run_dir, ROOT / "serve_config.yaml", deployments.models_dir, {}),
    )


@pytest.fixture
def direct_service(deployments):
    """The laptop profile launched with ``--direct-ingress`` (``LUNA_DIRECT_INGRESS=1``): the
    ingress replica serves HTTP itself; Ray's proxy is on port + 100. Gives the URL."""
    return deployments.get(
        "direct",
        lambda run_dir: _serve(
            run_dir,
            ROOT / "serve_config.yaml",
            deployments.models_dir,
            {"LUNA_DIRECT_INGRESS": "1"},
        ),
    )


@pytest.fixture
def scaled_service(deployments):
    """The same application on PostgreSQL, with two matcher shards and authentication on,
    as a cluster runs it. Gives (url, database url, admin credentials)."""
    database_url = os.environ.get("LUNA_TEST_POSTGRES_URL")
    if not database_url:
        if os.environ.get("LUNA_REQUIRE_POSTGRES") == "1":
            pytest.fail("LUNA_REQUIRE_POSTGRES=1 but no LUNA_TEST_POSTGRES_URL", pytrace=False)
        pytest.skip("no PostgreSQL: scripts/run-tests.sh starts one (scripts/postgres.sh)")

    def start(run_dir: Path):
        config = yaml.safe_load((ROOT / "serve_config.yaml").read_text())
        [app] = config["applications"]
        app["args"]["matcher"]["shards"] = 2
        app["args"]["auth"] = {"enabled": True}
        shard = next(d for d in app["deployments"] if d["name"] == "matcher_shard_0")
        app["deployments"].append({**shard, "name": "matcher_shard_1"})
        path = run_dir / "serve_config.scaled.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        env = {
            "LUNA_DATABASE_URL": database_url,
            "LUNA_ADMIN_LOGIN": ADMIN_LOGIN,
            "LUNA_ADMIN_PASSWORD": ADMIN_PASSWORD,
        }
        served = _serve(run_dir, path, deployments.models_dir, env)
        try:
            yield next(served), database_url, (ADMIN_LOGIN, ADMIN_PASSWORD)
        finally:
            served.close()  # stops that serve run

    return deployments.get("scaled", start)


def _serve(run_dir: Path, config: Path, models_dir: Path, extra_env: dict[str, str]):
    """Start ``serve run`` of ``config`` through the launcher on a free port; yield its URL
    once healthy; stop it (and its local Ray) afterwards."""
    port = free_port()
    run_config = run_dir / "serve_config.run.yaml"
    log_path = run_dir / "serve.log"
    # Models from the repository, database and samples in a folder of this run.
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "LUNA_MODELS_DIR": str(models_dir),
        "LUNA_DATA_DIR": str(run_dir / "data"),
        **extra_env,
    }
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "serve_app.launch",
                "--config",
                str(config),
                "--port",
                str(port),
                "--no-provision",
                "--run-config",
                str(run_config),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log_path)
        yield url
    finally:
        _stop(process)


def _wait_healthy(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"serve run exited ({process.returncode}):\n{log_path.read_text()[-4000:]}")
        try:
            if httpx.get(f"{url}/healthcheck", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    pytest.fail(f"service not healthy after {START_TIMEOUT_S}s:\n{log_path.read_text()[-4000:]}")


def _stop(process: subprocess.Popen) -> None:
    # serve run shuts Serve and its local Ray down on SIGINT.
    for sig, wait in ((signal.SIGINT, 60), (signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        if process.poll() is not None:
            break
        os.killpg(process.pid, sig)
        try:
            process.wait(wait)
        except subprocess.TimeoutExpired:
            continue
    _wait_group_gone(process.pid)


def _wait_group_gone(group: int, timeout_s: float = 30) -> None:
    """Wait for the rest of a process group (the GCS, raylet and agents `serve run` started)
    to exit after its leader, then kill what is left: the next deployment's `ray start` gives
    its raylet only 30 s to register, which a machine still busy stopping this one can miss."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


@pytest.fixture
async def client(service_url):
    async with httpx.AsyncClient(
        base_url=service_url, headers={"Luna-Account-Id": ACCOUNT}, timeout=120
    ) as http:
        yield http

"""One real Ray Serve deployment of serve_config.yaml for all end-to-end tests.

Started through the same launcher the README's run command uses, on a free port; Ray starts
once per test session (it costs ~15 s) and stops with the session.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ACCOUNT

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 240


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def service_url(tmp_path_factory, models_dir, photos):
    port = _free_port()
    run_config = tmp_path_factory.mktemp("serve") / "serve_config.run.yaml"
    log_path = run_config.with_name("serve.log")
    # Models from the repository, database and samples in a folder of this run.
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "LUNA_MODELS_DIR": str(models_dir),
        "LUNA_DATA_DIR": str(run_config.parent / "data"),
    }
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "serve_app.launch",
                "--config",
                "serve_config.yaml",
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
            return
        os.killpg(process.pid, sig)
        try:
            process.wait(wait)
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture
async def client(service_url):
    async with httpx.AsyncClient(
        base_url=service_url, headers={"Luna-Account-Id": ACCOUNT}, timeout=120
    ) as http:
        yield http

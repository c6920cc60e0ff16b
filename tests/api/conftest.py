"""The API in-process: the real FastAPI app with estimators called directly (no Ray)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import httpx
import pytest

from models.provision import app_args
from serve_app.app import create_app
from serve_app.estimators import Estimators
from serve_app.services import Services
from serve_app.settings import Settings
from tests.conftest import ACCOUNT

SERVE_CONFIG = Path(__file__).resolve().parents[2] / "serve_config.yaml"


def shipped_args() -> dict:
    """The application args of the shipped serve_config.yaml: tests run what users run."""
    return app_args(SERVE_CONFIG)[0]


def make_services(models_dir, data_dir=None, **overrides) -> Services:
    """Services configured as serve_config.yaml, overridden by keyword; their database and
    samples live in ``data_dir`` (a fresh temporary folder when not given)."""
    data_dir = data_dir or tempfile.mkdtemp(prefix="luna-api-")
    args = {**shipped_args(), "models_dir": str(models_dir), "data_dir": str(data_dir), **overrides}
    settings = Settings.from_args(args, environ={})
    return Services(settings, Estimators(settings))


@pytest.fixture(scope="session")
def services(models_dir, tmp_path_factory) -> Services:
    return make_services(models_dir, tmp_path_factory.mktemp("data"))


def postgres_url() -> str | None:
    """The throwaway PostgreSQL of the test script, if it runs one."""
    url = os.environ.get("LUNA_TEST_POSTGRES_URL")
    if not url and os.environ.get("LUNA_REQUIRE_POSTGRES") == "1":
        pytest.fail("LUNA_REQUIRE_POSTGRES=1 but no LUNA_TEST_POSTGRES_URL", pytrace=False)
    return url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend_services(request, models_dir, tmp_path_factory) -> Services:
    """Services on each database backend: storage tests run on both."""
    data_dir = tmp_path_factory.mktemp(request.param)
    if request.param == "sqlite":
        return make_services(models_dir, data_dir)
    url = postgres_url()
    if url is None:
        pytest.skip("no PostgreSQL: scripts/run-tests.sh starts one (scripts/postgres.sh)")
    return make_services(models_dir, data_dir, database_url=url)


@pytest.fixture
async def db_client(backend_services):
    """A client of the app on each database backend."""
    async with _client(backend_services) as http:
        yield http


def _client(services: Services) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(services)),
        base_url="http://luna",
        headers={"Luna-Account-Id": ACCOUNT},
    )


@pytest.fixture
async def client(services):
    async with _client(services) as http:
        yield http


@pytest.fixture
async def make_client():
    """``make_client(services)``: a client for an app with other settings."""
    clients: list[httpx.AsyncClient] = []

    def build(custom: Services) -> httpx.AsyncClient:
        clients.append(_client(custom))
        return clients[-1]

    yield build
    for http in clients:
        await http.aclose()

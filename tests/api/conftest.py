"""The API in-process: the real FastAPI app with estimators called directly (no Ray)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from models.provision import app_args
from serve_app.app import create_app
from serve_app.estimators import LocalEstimators
from serve_app.services import Services
from serve_app.settings import Settings
from tests.conftest import ACCOUNT

SERVE_CONFIG = Path(__file__).resolve().parents[2] / "serve_config.yaml"


def shipped_args() -> dict:
    """The application args of the shipped serve_config.yaml: tests run what users run."""
    return app_args(SERVE_CONFIG)[0]


def make_services(models_dir, **overrides) -> Services:
    """Services configured as serve_config.yaml, overridden by keyword."""
    args = {**shipped_args(), "models_dir": str(models_dir), **overrides}
    settings = Settings.from_args(args)
    return Services(settings, LocalEstimators(settings))


@pytest.fixture(scope="session")
def services(models_dir) -> Services:
    return make_services(models_dir)


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

"""Shared fixtures: real test photos and provisioned models (fetched by the test script)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

# Tests find the repository's data (models, photos) from whatever directory they run in.
os.environ.setdefault("LUNA_DATA_DIR", str(Path(__file__).resolve().parents[1] / ".data"))

from models import paths
from tests.data.fetch import catalogue, photo_dir

ACCOUNT = "b668c4a5-2191-476e-a261-3b4f9ce2e25e"


def new_account() -> str:
    """A fresh account id: tests that store objects start from an empty account, whatever
    an earlier test or run left in a shared database."""
    return str(uuid.uuid4())


def _require(path: Path, how: str) -> Path:
    if not path.exists():
        pytest.fail(f"{path} is missing; run `{how}` (scripts/run-tests.sh does)", pytrace=False)
    return path


@pytest.fixture(scope="session")
def photos() -> dict[str, dict[str, Any]]:
    """The test photo catalogue (tests/data/photos.yaml), checked to be fetched."""
    entries = catalogue()
    for name in entries:
        _require(photo_dir() / name, "python -m tests.data.fetch")
    return entries


@pytest.fixture(scope="session")
def photo_bytes(photos):
    """``photo_bytes(name)``: the encoded file of a test photo."""

    def read(name: str) -> bytes:
        return (photo_dir() / name).read_bytes()

    return read


@pytest.fixture(scope="session")
def photo(photos):
    """``photo(name)``: a test photo decoded as a BGR uint8 array."""

    def load(name: str) -> np.ndarray:
        image = cv2.imread(str(photo_dir() / name), cv2.IMREAD_COLOR)
        assert image is not None, name
        return image

    return load


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """The provisioned models directory."""
    directory = paths.models_dir()
    _require(directory / "scrfd_500m_bnkps.onnx", "python -m models.provision")
    return directory

"""Default locations of the service's local state (models, database, samples)."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """``$LUNA_DATA_DIR``, else ``.data`` under the current directory, made absolute."""
    return Path(os.environ.get("LUNA_DATA_DIR") or ".data").expanduser().resolve()


def models_dir() -> Path:
    """``$LUNA_MODELS_DIR``, else ``models`` inside the data directory."""
    configured = os.environ.get("LUNA_MODELS_DIR")
    return Path(configured).expanduser().resolve() if configured else data_dir() / "models"

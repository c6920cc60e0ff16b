"""Service settings: the application ``args`` of serve_config.yaml, plus environment overrides.

Environment variables win over the file so that one config serves many machines:
``LUNA_DATA_DIR``, ``LUNA_MODELS_DIR`` and ``LUNA_DATABASE_URL``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from models import paths
from serve_app.images import ImageLimits


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EstimatorSettings(_Strict):
    """One estimator: its model (None for classical methods without one), further model
    files by role (e.g. ``gender`` for the age/gender estimator), adapter options and
    onnxruntime settings."""

    model: str | None = None
    extra_models: dict[str, str] = Field(default_factory=dict)
    enabled: bool = True
    options: dict[str, Any] = Field(default_factory=dict)
    runtime: dict[str, Any] = Field(default_factory=dict)


class LimitSettings(_Strict):
    """Bounds on what one request may carry."""

    max_images_per_request: int = Field(default=32, ge=1)
    max_body_bytes: int = Field(default=128 * 1024 * 1024, ge=1024)
    max_image_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    max_image_pixels: int = Field(default=50_000_000, ge=1)
    max_image_side: int = Field(default=16384, ge=16)

    def image_limits(self) -> ImageLimits:
        """The per-image part of the limits."""
        return ImageLimits(self.max_image_bytes, self.max_image_pixels, self.max_image_side)


class ImageUrlSettings(_Strict):
    """Fetching images named by URL in JSON bodies. Off by default: it lets clients make
    the service open connections (SSRF); turn it on where the network allows it."""

    enabled: bool = False
    timeout_s: float = Field(default=10.0, gt=0)
    allowed_hosts: list[str] = Field(default_factory=list)


class Settings(_Strict):
    """Everything the ingress and the estimator deployments need to start."""

    data_dir: Path = Field(default_factory=paths.data_dir)
    models_dir: Path | None = None
    database_url: str | None = None
    require_gpu: bool = False
    estimators: dict[str, EstimatorSettings] = Field(
        default_factory=lambda: {
            "face_detector": EstimatorSettings(
                model="scrfd_500m_bnkps", options={"input_size": 640, "extra_scales": [160]}
            )
        }
    )
    models: dict[str, dict[str, Any]] = Field(default_factory=dict)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    image_urls: ImageUrlSettings = Field(default_factory=ImageUrlSettings)

    @classmethod
    def from_args(
        cls, args: dict[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Settings from application args, with environment overrides applied."""
        data = dict(args or {})
        environ = os.environ if environ is None else environ
        env = {
            "data_dir": environ.get("LUNA_DATA_DIR"),
            "models_dir": environ.get("LUNA_MODELS_DIR"),
            "database_url": environ.get("LUNA_DATABASE_URL"),
        }
        data.update({key: value for key, value in env.items() if value})
        settings = cls.model_validate(data)
        settings.data_dir = settings.data_dir.expanduser().resolve()
        if settings.models_dir is not None:
            settings.models_dir = settings.models_dir.expanduser().resolve()
        return settings

    @property
    def resolved_database_url(self) -> str:
        """The database: ``database_url``, else an SQLite file in the data directory."""
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'luna.db'}"

    @property
    def samples_dir(self) -> Path:
        """Where sample images are kept (the local blob store)."""
        return self.data_dir / "blobs"

    @property
    def resolved_models_dir(self) -> Path:
        """Where model files are read from."""
        return self.models_dir or self.data_dir / "models"

    def estimator(self, name: str) -> EstimatorSettings | None:
        """The settings of an enabled estimator, or None when it is absent or disabled."""
        settings = self.estimators.get(name)
        return settings if settings is not None and settings.enabled else None

    def public_view(self) -> dict[str, Any]:
        """The settings as JSON, with passwords, tokens and secrets hidden."""
        return hide_secrets(self.model_dump(mode="json"))


_SECRET_KEY = re.compile(r"pass(word)?|secret|token|api_?key|credential", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]+:)(?P<password>[^@\s]+)(?=@)")


def hide_secrets(value: Any, key: str = "") -> Any:
    """A copy of ``value`` with secret-looking keys and URL passwords masked."""
    if isinstance(value, dict):
        return {k: hide_secrets(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [hide_secrets(v, key) for v in value]
    if _SECRET_KEY.search(key) and value not in (None, ""):
        return "***"
    if isinstance(value, str):
        return _URL_PASSWORD.sub(r"\g<head>***", value)
    return value

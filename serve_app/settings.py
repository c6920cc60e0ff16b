"""Service settings: the application ``args`` of serve_config.yaml, plus environment overrides.

Environment variables win over the file so that one config serves many machines:
``LUNA_DATA_DIR``, ``LUNA_MODELS_DIR``, ``LUNA_DATABASE_URL``, and for authentication
``LUNA_AUTH_ENABLED``, ``LUNA_ADMIN_LOGIN`` and ``LUNA_ADMIN_PASSWORD``; for an S3 blob store
``LUNA_BLOBS_BACKEND``, ``LUNA_S3_ENDPOINT_URL``, ``LUNA_S3_BUCKET``, ``LUNA_S3_REGION``,
``LUNA_S3_ACCESS_KEY_ID`` and ``LUNA_S3_SECRET_ACCESS_KEY`` (docs/shared-state.md).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models import paths
from serve_app.http.images import ImageLimits
from serve_app.matching.settings import MatcherSettings


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
    # Overload bounds (serve_app.http.limits); 0 turns each off. Requests one account may make per
    # second on one ingress replica, and how many it may make at once above that rate.
    rate_limit_rps: float = Field(default=0.0, ge=0)
    rate_limit_burst: int = Field(default=0, ge=0)  # 0: one second's worth of requests
    # Requests one ingress replica works on at once; more get 503 at once instead of queueing.
    max_concurrent_requests: int = Field(default=0, ge=0)

    def image_limits(self) -> ImageLimits:
        """The per-image part of the limits."""
        return ImageLimits(self.max_image_bytes, self.max_image_pixels, self.max_image_side)


class ImageUrlSettings(_Strict):
    """Fetching images named by URL in JSON bodies. Off by default: it lets clients make
    the service open connections (SSRF); turn it on where the network allows it."""

    enabled: bool = False
    timeout_s: float = Field(default=10.0, gt=0)
    allowed_hosts: list[str] = Field(default_factory=list)
    # Private, loopback, link-local, multicast and other non-public addresses are refused
    # (every address the host resolves to is checked) unless this is on.
    allow_private: bool = False


class AuthSettings(_Strict):
    """Credentials (serve_app.http.auth, docs/auth.md). Off: the ``Luna-Account-Id`` header names
    the account, as LUNA's header authorization does; credentials a request carries still
    bind it. On: every request but the service routes needs Basic or Bearer credentials.

    The first admin account comes from ``admin_login``/``admin_password``
    (``LUNA_ADMIN_LOGIN``/``LUNA_ADMIN_PASSWORD``), created when missing."""

    enabled: bool = False
    admin_login: str | None = None
    admin_password: str | None = None
    admin_account_id: str | None = None  # default: a new id when the admin is first created
    # How long a verified credential is trusted without asking the database (and, for Basic,
    # without the deliberately slow password hash); a removed token or account may still work
    # on a replica for this long.
    credential_cache_s: float = Field(default=5.0, ge=0)

    @model_validator(mode="after")
    def _admin_complete(self) -> AuthSettings:
        if bool(self.admin_login) != bool(self.admin_password):
            raise ValueError("auth: set both admin_login and admin_password, or neither")
        if self.admin_password is not None and len(self.admin_password) < 8:
            raise ValueError("auth: admin_password needs at least 8 characters")
        if self.admin_login is not None and (":" in self.admin_login or not self.admin_login):
            raise ValueError("auth: admin_login cannot contain ':'")
        return self


class BlobSettings(_Strict):
    """Where samples and source images are kept (docs/shared-state.md): ``local``, a directory
    under ``data_dir`` (the embedded default, one machine), or ``s3``, a bucket of an
    S3-compatible object store that every ingress replica reaches.

    Without ``access_key_id``/``secret_access_key`` (best from ``LUNA_S3_ACCESS_KEY_ID`` /
    ``LUNA_S3_SECRET_ACCESS_KEY``) the S3 client looks for credentials as the AWS SDKs do
    (``AWS_*`` variables, a pod's or instance's role)."""

    backend: Literal["local", "s3"] = "local"
    endpoint_url: str | None = None  # None: AWS S3 itself
    bucket: str | None = None
    region: str = "us-east-1"
    prefix: str = ""  # keys start with it: several services can share a bucket
    access_key_id: str | None = None
    secret_access_key: str | None = None
    # "path" (http://host/bucket/key) suits MinIO and most S3-compatible servers.
    addressing_style: Literal["auto", "path", "virtual"] = "path"
    # Create the bucket at start when it is missing (development; production buckets are
    # made, with their retention and access rules, by whoever runs the store).
    create_bucket: bool = False
    connect_timeout_s: float = Field(default=3.0, gt=0)
    read_timeout_s: float = Field(default=15.0, gt=0)
    # Tries per call, the first included, before an outage answers an error.
    max_attempts: int = Field(default=3, ge=1, le=10)

    @model_validator(mode="after")
    def _s3_complete(self) -> BlobSettings:
        if self.backend == "s3" and not self.bucket:
            raise ValueError("blobs: the s3 backend needs a bucket")
        if bool(self.access_key_id) != bool(self.secret_access_key):
            raise ValueError("blobs: set both access_key_id and secret_access_key, or neither")
        if self.prefix.startswith("/"):
            raise ValueError("blobs: prefix cannot start with '/'")
        return self


class NotificationSettings(_Strict):
    """How stored events reach WebSocket subscribers connected to other ingress replicas
    (docs/shared-state.md). ``auto``: through PostgreSQL's LISTEN/NOTIFY when the database is
    PostgreSQL, else within this replica only (``local``)."""

    fanout: Literal["auto", "local", "postgres"] = "auto"


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
    matcher: MatcherSettings = Field(default_factory=MatcherSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    blobs: BlobSettings = Field(default_factory=BlobSettings)
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)

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
        data["auth"] = _auth_from_env(dict(data.get("auth") or {}), environ)
        data["blobs"] = _blobs_from_env(dict(data.get("blobs") or {}), environ)
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


def _auth_from_env(auth: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """``auth`` with ``LUNA_AUTH_ENABLED`` (1/true/0/false) and the admin's credentials from
    the environment, where they are set (secrets belong in the environment, not the file)."""
    enabled = (environ.get("LUNA_AUTH_ENABLED") or "").strip().lower()
    if enabled:
        if enabled not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            raise ValueError(f"LUNA_AUTH_ENABLED={enabled!r}: use 1/true or 0/false")
        auth["enabled"] = enabled in ("1", "true", "yes", "on")
    names = {"admin_login": "LUNA_ADMIN_LOGIN", "admin_password": "LUNA_ADMIN_PASSWORD"}
    for key, name in names.items():
        if environ.get(name):
            auth[key] = environ[name]
    return auth


def _blobs_from_env(blobs: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """``blobs`` with the blob store's settings that the environment sets (its credentials
    belong there, not in the file)."""
    names = {
        "backend": "LUNA_BLOBS_BACKEND",
        "endpoint_url": "LUNA_S3_ENDPOINT_URL",
        "bucket": "LUNA_S3_BUCKET",
        "region": "LUNA_S3_REGION",
        "access_key_id": "LUNA_S3_ACCESS_KEY_ID",
        "secret_access_key": "LUNA_S3_SECRET_ACCESS_KEY",
    }
    for key, name in names.items():
        if environ.get(name):
            blobs[key] = environ[name]
    return blobs


_SECRET_KEY = re.compile(r"pass(word)?|secret|token|api_?key|access_?key|credential", re.IGNORECASE)
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

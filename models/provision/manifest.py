"""The model manifest: which file each model is, where it comes from, its sha256 and license.

An entry with ``convert:`` names a source file in another format (Keras HDF5, TF graph,
TFLite) with its ``source_sha256``; provisioning converts it to the ONNX file ``file``, whose
sha256 is ``sha256`` (models/provision/convert.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from models.provision.convert import ConvertError, ConvertSpec
from models.provision.fetch import Source

MANIFEST_PATH = Path(__file__).with_name("manifest.yaml")


class ManifestError(ValueError):
    """The manifest or a configured model entry is malformed or names an unknown model."""


@dataclass(frozen=True)
class ModelEntry:
    """One model file known to the service."""

    name: str
    task: str
    family: str
    file: str
    sha256: str
    source: Source
    license: str = "unknown"
    license_url: str = ""
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    #: sha256 of the fetched source file, for a converted model (``sha256`` is the ONNX's).
    source_sha256: str | None = None
    #: How the source becomes the ONNX file; None for files the service loads as fetched.
    convert: ConvertSpec | None = None

    def path(self, models_dir: Path) -> Path:
        """Where the file lives once provisioned."""
        return Path(models_dir) / self.file


_REQUIRED = ("task", "family", "file", "sha256", "source")
_OPTIONAL = ("license", "license_url", "description", "options")
_CONVERTED = ("source_sha256", "convert")


def _entry(name: str, data: dict[str, Any]) -> ModelEntry:
    if not isinstance(data, dict):
        raise ManifestError(f"model {name!r}: expected a mapping, got {type(data).__name__}")
    missing = [key for key in _REQUIRED if key not in data]
    unknown = set(data) - set(_REQUIRED) - set(_OPTIONAL) - set(_CONVERTED)
    if missing or unknown:
        raise ManifestError(
            f"model {name!r}: missing keys {missing}, unknown keys {sorted(unknown)}"
        )
    sha = _sha(name, "sha256", data["sha256"])
    convert, source_sha = None, None
    if data.get("convert") is not None:
        if not data.get("source_sha256"):
            raise ManifestError(f"model {name!r}: a converted model needs source_sha256")
        source_sha = _sha(name, "source_sha256", data["source_sha256"])
        try:
            convert = ConvertSpec.from_dict(dict(data["convert"]))
        except (ConvertError, TypeError, ValueError) as exc:
            raise ManifestError(f"model {name!r}: {exc}") from exc
    elif data.get("source_sha256"):
        raise ManifestError(f"model {name!r}: source_sha256 belongs with convert")
    return ModelEntry(
        name=name,
        task=str(data["task"]),
        family=str(data["family"]),
        file=str(data["file"]),
        sha256=sha,
        source=Source.from_dict(dict(data["source"])),
        **{key: data[key] for key in _OPTIONAL if key in data},
        source_sha256=source_sha,
        convert=convert,
    )


def _sha(name: str, key: str, value: Any) -> str:
    sha = str(value).lower()
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise ManifestError(f"model {name!r}: {key} must be 64 hex digits")
    return sha


def load_manifest(extra: dict[str, dict[str, Any]] | None = None) -> dict[str, ModelEntry]:
    """The packaged manifest, with ``extra`` entries (from the configuration) added on top.

    An extra entry with the name of a packaged one replaces it field by field, so a user can
    point a known model at a mirror by giving only a new ``source``.
    """
    with open(MANIFEST_PATH) as stream:
        raw: dict[str, dict[str, Any]] = (yaml.safe_load(stream) or {}).get("models", {})
    merged = {name: dict(data) for name, data in raw.items()}
    for name, data in (extra or {}).items():
        merged[name] = {**merged.get(name, {}), **dict(data)}
    return {name: _entry(name, data) for name, data in merged.items()}


def resolve(name: str, manifest: dict[str, ModelEntry], task: str | None = None) -> ModelEntry:
    """The entry called ``name``; with ``task``, also check that it serves that task."""
    entry = manifest.get(name)
    if entry is None:
        raise ManifestError(f"unknown model {name!r}; known: {', '.join(sorted(manifest))}")
    if task is not None and entry.task != task:
        raise ManifestError(f"model {name!r} is a {entry.task}, not a {task}")
    return entry

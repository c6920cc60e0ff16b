"""Fetch the model files a configuration names into the models directory.

Usage::

    python -m models.provision [--config serve_config.yaml] [--models-dir DIR] [--all] [NAME ...]

With no names it provisions every model that the configuration's estimators name. Each file
is checked against the manifest's sha256; files already present and correct are left alone,
so the command is cheap to run before every start, and the service then runs offline.
Entries with ``convert:`` are fetched in their own format and converted to ONNX, verified
against the original runtime, in a separate converter environment (models/provision/convert.py).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from models import paths
from models.provision.convert import ConvertError, converter_dir, provision_converted
from models.provision.fetch import FetchError, fetch
from models.provision.manifest import ManifestError, ModelEntry, load_manifest, resolve


def app_args(config_path: Path) -> list[dict[str, Any]]:
    """The ``args`` of every application in a Ray Serve config file."""
    with open(config_path) as stream:
        config = yaml.safe_load(stream) or {}
    return [dict(app.get("args") or {}) for app in config.get("applications", [])]


def configured_models(args: dict[str, Any]) -> list[str]:
    """Names of the models that an application's estimators use, in config order.

    Disabled estimators count too: turning one on later must not need the network.
    """
    names: list[str] = []
    for settings in (args.get("estimators") or {}).values():
        if not isinstance(settings, dict):
            continue
        if settings.get("model"):
            names.append(str(settings["model"]))
        names.extend(str(name) for name in (settings.get("extra_models") or {}).values())
    return names


def provision(
    entries: Iterable[ModelEntry],
    models_dir: Path,
    cache_dir: Path,
    progress=print,
    converter: Path | None = None,
) -> list[Path]:
    """Fetch (and convert, where the entry says) each entry into ``models_dir``; return the
    paths of the provisioned files. ``converter`` is the converter environment's folder
    (default ``<data dir>/converter-venv``), used only when a file must be converted."""
    done: list[Path] = []
    for entry in entries:
        dest = entry.path(models_dir)
        progress(f"{entry.name}: {entry.source.describe()} -> {dest}")
        if entry.convert is None:
            fetched = fetch(entry.source, entry.sha256, dest, cache_dir, progress)
            how = "fetched"
        else:
            fetched = provision_converted(
                entry, dest, cache_dir, converter or converter_dir(), progress
            )
            how = f"converted from {entry.convert.source_format}"
        size = dest.stat().st_size / 1e6
        progress(
            f"  {how if fetched else 'present'}, {size:.1f} MB, sha256 ok ({entry.license})"
        )
        done.append(dest)
    return done


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="model names from the manifest")
    parser.add_argument("--config", type=Path, default=Path("serve_config.yaml"))
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--all", action="store_true", help="every model in the manifest")
    options = parser.parse_args(argv)

    extra: dict[str, Any] = {}
    wanted: list[str] = list(options.names)
    models_dir = options.models_dir
    if options.config.is_file():
        for args in app_args(options.config):
            extra.update(args.get("models") or {})
            if not options.names:
                wanted += configured_models(args)
            if models_dir is None and args.get("models_dir"):
                models_dir = Path(args["models_dir"])
    elif not (options.names or options.all):
        parser.error(f"config {options.config} not found; name models or pass --all")
    models_dir = (models_dir or paths.models_dir()).expanduser().resolve()

    try:
        manifest = load_manifest(extra)
        names = sorted(manifest) if options.all else list(dict.fromkeys(wanted))
        entries = [resolve(name, manifest) for name in names]
        provision(entries, models_dir, paths.data_dir() / "cache")
    except (ConvertError, FetchError, ManifestError, OSError) as exc:
        print(f"provisioning failed: {exc}", file=sys.stderr)
        return 1
    print(f"{len(entries)} model file(s) ready in {models_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

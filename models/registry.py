"""Build a model adapter for an estimator from its configured model name.

The manifest says which family a model file belongs to; the family picks the adapter class.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.manifest import ModelEntry, load_manifest, resolve
from models.runtime import RuntimeOptions
from models.scrfd import ScrfdDetector

# (task, family) -> adapter class. Each class takes (model_path, runtime=..., **options).
ADAPTERS: dict[tuple[str, str], type] = {
    ("face_detector", "scrfd"): ScrfdDetector,
}


def build_adapter(
    task: str,
    model: str,
    models_dir: Path,
    options: dict[str, Any] | None = None,
    runtime: dict[str, Any] | None = None,
    manifest_extra: dict[str, dict[str, Any]] | None = None,
) -> Any:
    """An adapter for ``task`` running the model called ``model``.

    ``options`` are the adapter's keyword arguments on top of the manifest entry's own;
    nothing is loaded until the adapter first runs (or its ``model.load()`` is called).
    """
    entry: ModelEntry = resolve(model, load_manifest(manifest_extra), task)
    adapter = ADAPTERS.get((task, entry.family))
    if adapter is None:
        raise ValueError(f"no adapter for {task} models of family {entry.family!r}")
    kwargs = {**entry.options, **(options or {})}
    return adapter(entry.path(models_dir), runtime=RuntimeOptions.from_dict(runtime), **kwargs)

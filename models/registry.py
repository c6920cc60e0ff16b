"""Build a model adapter for an estimator from its configured model name.

The manifest says which family a model file belongs to; the family picks the adapter class.
Classical estimators (documented methods without a model file) are built by task alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.age_gender import AgeGenderEstimator
from models.arcface import ArcFaceExtractor
from models.head_pose import HeadPoseEstimator
from models.image_quality import ImageQualityEstimator
from models.landmarks import Landmarks106
from models.manifest import load_manifest, resolve
from models.runtime import RuntimeOptions
from models.scrfd import ScrfdDetector

# (task, family) -> adapter class. Each takes (model_path, runtime=..., **options), and one
# ``<role>_path`` keyword per extra model file.
ADAPTERS: dict[tuple[str, str], type] = {
    ("face_detector", "scrfd"): ScrfdDetector,
    ("face_landmarks", "insightface_2d106"): Landmarks106,
    ("face_descriptor", "arcface"): ArcFaceExtractor,
    ("basic_attributes", "dlib_age_gender"): AgeGenderEstimator,
    ("head_pose", "mean_shape_3d"): HeadPoseEstimator,
}
# task -> adapter class of a classical method, which needs no model file.
CLASSICAL: dict[str, type] = {
    "image_quality": ImageQualityEstimator,
}


def build_adapter(
    task: str,
    model: str | None,
    models_dir: Path,
    options: dict[str, Any] | None = None,
    runtime: dict[str, Any] | None = None,
    manifest_extra: dict[str, dict[str, Any]] | None = None,
    extra_models: dict[str, str] | None = None,
) -> Any:
    """An adapter for ``task`` running the model called ``model``.

    ``options`` are the adapter's keyword arguments on top of the manifest entry's own;
    nothing is loaded until the adapter first runs (or its ``model.load()`` is called).
    """
    if model is None:
        if task not in CLASSICAL:
            raise ValueError(f"estimator {task!r} needs a model")
        return CLASSICAL[task](**(options or {}))
    manifest = load_manifest(manifest_extra)
    entry = resolve(model, manifest, task)
    adapter = ADAPTERS.get((task, entry.family))
    if adapter is None:
        raise ValueError(f"no adapter for {task} models of family {entry.family!r}")
    kwargs = {**entry.options, **(options or {})}
    for role, name in (extra_models or {}).items():
        kwargs[f"{role}_path"] = resolve(name, manifest, task).path(models_dir)
    return adapter(entry.path(models_dir), runtime=RuntimeOptions.from_dict(runtime), **kwargs)

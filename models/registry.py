"""Build the adapter of a configured estimator.

The manifest says which family a model file belongs to; the adapter class that declares that
(task, family) runs it. Classical estimators (documented methods without a model file) are
built by task alone. An estimator's configuration is a plain mapping (``model``,
``extra_models``, ``options``, ``runtime``), as serve_config.yaml writes it, so that a Ray
deployment can build its adapter from its own settings without the ingress's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from models.base import Adapter
from models.body.clothing_colour import ClothingColourEstimator
from models.body.person_detector import PersonDetector
from models.body.reid import OsNetBodyDescriptor
from models.face.age_gender import AgeGenderEstimator
from models.face.arcface import ArcFaceExtractor
from models.face.background import SelfieSegmentationBackground
from models.face.emotions import EmotionsEstimator
from models.face.eyes_gaze import EyesEstimator, GazeEstimator
from models.face.glasses import GlassesEstimator
from models.face.head_pose import HeadPoseEstimator
from models.face.image_quality import ImageQualityEstimator
from models.face.iso import IsoEstimator
from models.face.landmarks import Landmarks106
from models.face.liveness import MiniFasNetLiveness
from models.face.mask import MaskEstimator
from models.face.mouth import MouthEstimator
from models.face.scrfd import ScrfdDetector
from models.provision.manifest import load_manifest, resolve
from models.runtime import RuntimeOptions

# Adapters with a model file: each takes (model_path, runtime=..., **options), and one
# ``<role>_path`` keyword per extra model file.
_MODEL_ADAPTERS: tuple[type[Adapter], ...] = (
    ScrfdDetector,
    Landmarks106,
    ArcFaceExtractor,
    AgeGenderEstimator,
    HeadPoseEstimator,
    MiniFasNetLiveness,
    OsNetBodyDescriptor,
    SelfieSegmentationBackground,
    PersonDetector,
    MouthEstimator,
    EmotionsEstimator,
    MaskEstimator,
    GlassesEstimator,
    EyesEstimator,
    GazeEstimator,
)
# Classical methods: built from options alone.
_CLASSICAL_ADAPTERS: tuple[type[Adapter], ...] = (
    ImageQualityEstimator,
    ClothingColourEstimator,
    IsoEstimator,
)

ADAPTERS: dict[tuple[str, str], type[Adapter]] = {(a.task, a.family): a for a in _MODEL_ADAPTERS}
CLASSICAL: dict[str, type[Adapter]] = {a.task: a for a in _CLASSICAL_ADAPTERS}


def build_adapter(
    task: str,
    config: Mapping[str, Any],
    models_dir: Path,
    manifest_extra: dict[str, dict[str, Any]] | None = None,
) -> Adapter:
    """The adapter for estimator ``task`` configured by ``config``.

    ``config["options"]`` are the adapter's keyword arguments on top of the manifest entry's
    own; nothing is loaded until the adapter first runs (or ``load()`` is called).
    """
    model = config.get("model")
    options = dict(config.get("options") or {})
    if model is None:
        if task not in CLASSICAL:
            raise ValueError(f"estimator {task!r} needs a model")
        return CLASSICAL[task](**options)
    manifest = load_manifest(manifest_extra)
    entry = resolve(model, manifest, task)
    adapter = ADAPTERS.get((task, entry.family))
    if adapter is None:
        raise ValueError(f"no adapter for {task} models of family {entry.family!r}")
    kwargs = {**entry.options, **options}
    for role, name in (config.get("extra_models") or {}).items():
        kwargs[f"{role}_path"] = resolve(name, manifest, task).path(models_dir)
    runtime = RuntimeOptions.from_dict(config.get("runtime"))
    return adapter(entry.path(models_dir), runtime=runtime, **kwargs)

"""What every model adapter is: a task, a model family, its sessions, and one batched call.

An adapter turns items (an image, an image and a box, a face warp, landmarks) into results,
one per item. Running is split in two so that the work can be divided between processes:
``prepare`` is cheap per-item work done where the pixels are (crops, letterboxing, chips),
``infer`` runs the model on a batch of prepared items. ``run`` does both, in-process.
Callers use only this interface; what an adapter keeps inside is its own business.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from models.runtime import OnnxModel


class Adapter(ABC):
    """A model (or a documented classical method) that estimates one thing on a batch."""

    #: The estimator it serves, as configured (``estimators.<task>`` in serve_config.yaml).
    task: ClassVar[str]
    #: The model family it reads (the manifest's ``family``), or "classical".
    family: ClassVar[str]
    #: Cheap enough (a least-squares fit, a few image statistics) to run where the data is,
    #: in the caller's process: a hop to another process would cost more than the work.
    in_ingress: ClassVar[bool] = False

    def sessions(self) -> list[OnnxModel]:
        """The onnxruntime models it runs (none for classical methods)."""
        return []

    def load(self) -> None:
        """Load everything now (e.g. at replica start) rather than on the first batch."""
        for session in self.sessions():
            session.load()

    def describe(self) -> dict[str, Any]:
        """What this adapter runs: task, family, model files and the providers really used."""
        sessions = self.sessions()
        return {
            "task": self.task,
            "family": self.family,
            "models": [s.path.name for s in sessions],
            "providers": sorted({p for s in sessions for p in s.providers}),
        }

    def prepare(self, item: Any) -> Any:
        """The model input of one item; by default the item itself."""
        return item

    @abstractmethod
    def infer(self, prepared: Sequence[Any]) -> list[Any]:
        """One result per prepared item, in order, computed as one batch."""

    def run(self, items: Sequence[Any]) -> list[Any]:
        """Prepare and infer in this process: one result per item."""
        return self.infer([self.prepare(item) for item in items])

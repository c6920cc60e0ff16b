"""The one way the ingress calls an estimator: ``await estimators.run(task, items)``.

Each configured estimator has an adapter (``models/``). Where it runs is its transport:
in this process (tests, single-process use, and cheap classical methods), or in its own
Ray Serve deployment reached through a DeploymentHandle. Callers cannot tell the difference.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

from models.base import Adapter
from models.face.arcface import ArcFaceExtractor
from models.registry import build_adapter
from serve_app.errors import ESTIMATOR_DISABLED, LunaError
from serve_app.http.timing import record, stage
from serve_app.settings import Settings

HEALTH_TIMEOUT_S = 10.0
FACE_DESCRIPTOR = "face_descriptor"


def build_estimator(settings: Settings, task: str) -> Adapter:
    """The adapter of a configured estimator; raises LUNA's licence error when it is not."""
    config = settings.estimator(task)
    if config is None:
        raise LunaError(ESTIMATOR_DISABLED, f"estimator '{task}' is not configured")
    return build_adapter(
        task, config.model_dump(), settings.resolved_models_dir, manifest_extra=settings.models
    )


class Transport(ABC):
    """How an adapter's batch reaches the model."""

    @abstractmethod
    async def run(self, adapter: Adapter, items: Sequence[Any]) -> list[Any]:
        """One result per item."""

    @abstractmethod
    async def health(self, adapter: Adapter) -> None:
        """Raise unless the model can run."""


class InProcess(Transport):
    """The adapter runs here, on a worker thread so that the event loop stays free."""

    async def run(self, adapter: Adapter, items: Sequence[Any]) -> list[Any]:
        """Prepare and infer in one thread hop."""
        return await asyncio.to_thread(adapter.run, list(items))

    async def health(self, adapter: Adapter) -> None:
        """Load the model."""
        await asyncio.to_thread(adapter.load)


class Deployed(Transport):
    """The adapter's model runs in its Ray Serve deployment.

    Items are prepared here (the ingress holds the pixels; preparing loads no model) and sent
    in as few calls as the deployment's batch size allows, so that it batches the items of
    all concurrent requests together.
    """

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self._max_items: int | None = None

    async def run(self, adapter: Adapter, items: Sequence[Any]) -> list[Any]:
        """Prepare here, infer there."""
        prepared = await asyncio.to_thread(lambda: [adapter.prepare(item) for item in items])
        if not prepared:
            return []
        size = await self._call_size()
        calls = [prepared[i : i + size] for i in range(0, len(prepared), size)]
        answers = await asyncio.gather(*(self.handle.infer.remote(call) for call in calls))
        # The model's own time and the wait for it in the replica; the estimator's stage
        # minus both is the transport there and back (and preparing the items here).
        record(f"{adapter.task}.model", max(answer.model_s for answer in answers))
        record(f"{adapter.task}.queue", max(answer.queue_s for answer in answers))
        return [result for answer in answers for result in answer.results]

    async def health(self, adapter: Adapter) -> None:
        """Ask the deployment what it runs, with a timeout."""
        info = await asyncio.wait_for(self.handle.info.remote(), HEALTH_TIMEOUT_S)
        self._max_items = int(info["max_batch_size"])

    async def _call_size(self) -> int:
        # A call larger than the deployment's batch is refused by @serve.batch; its size is
        # the deployment's own setting (user_config), learned once.
        if self._max_items is None:
            info = await self.handle.info.remote()
            self._max_items = int(info["max_batch_size"])
        return self._max_items


class Estimators:
    """The configured estimators, each with its adapter and transport.

    ``remote`` maps a task to the DeploymentHandle of its deployment; tasks without one run in
    this process.
    """

    def __init__(self, settings: Settings, remote: Mapping[str, Any] | None = None) -> None:
        self.settings = settings
        self._adapters: dict[str, Adapter] = {}
        self._transports: dict[str, Transport] = {
            task: Deployed(handle) for task, handle in (remote or {}).items()
        }
        self._local = InProcess()

    def available(self, task: str) -> bool:
        """Whether estimator ``task`` is configured and enabled."""
        return self.settings.estimator(task) is not None

    def require(self, task: str) -> None:
        """Raise LUNA's licence-style error naming ``task`` when it is not configured."""
        if not self.available(task):
            raise LunaError(ESTIMATOR_DISABLED, f"estimator '{task}' is not configured")

    def adapter(self, task: str) -> Adapter:
        """The adapter of ``task``, built on first use; its model loads on first run."""
        if task not in self._adapters:
            self.require(task)
            self._adapters[task] = build_estimator(self.settings, task)
        return self._adapters[task]

    async def run(self, task: str, items: Sequence[Any]) -> list[Any]:
        """Estimate ``task`` on each item: one result per item, in order."""
        adapter = self.adapter(task)
        if not items:
            return []
        with stage(task):
            return await self._transports.get(task, self._local).run(adapter, items)

    async def health(self) -> dict[str, str | None]:
        """For each configured estimator: None when it can run, else what is wrong."""
        tasks = [task for task, config in self.settings.estimators.items() if config.enabled]

        async def probe(task: str) -> str | None:
            try:
                adapter = self.adapter(task)
                await self._transports.get(task, self._local).health(adapter)
            except Exception as exc:  # a missing file, a dead or stuck deployment
                return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return None

        problems = await asyncio.gather(*(probe(task) for task in tasks))
        return dict(zip(tasks, problems, strict=True))

    @property
    def descriptor_model(self) -> ArcFaceExtractor:
        """The descriptor adapter: its version, size and similarity calibration."""
        adapter = self.adapter(FACE_DESCRIPTOR)
        assert isinstance(adapter, ArcFaceExtractor)
        return adapter

    def similarity(self, cosines: Any) -> Any:
        """LUNA similarity of descriptor cosines, by the descriptor model's calibration."""
        return self.descriptor_model.similarity(cosines)

    def descriptor_version(self) -> int:
        """Version of the descriptors the configured model produces."""
        return self.descriptor_model.descriptor_version

"""What the routes work with: settings and the estimators, bundled for the app factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.estimators import Estimators
from serve_app.fanout import Fanout, build_fanout
from serve_app.matching import Matcher, deployed_matcher, local_matcher
from serve_app.notifications import EventHub
from serve_app.settings import Settings
from serve_app.storage.events import EventWriter
from serve_app.storage.store import Storage


@dataclass
class Services:
    """The service's collaborators. ``deployment`` describes how it is deployed (for /config);
    ``matcher_shards`` are the DeploymentHandles of the matcher's shards (none: the matcher
    runs in this process)."""

    settings: Settings
    estimators: Estimators
    deployment: dict[str, Any] = field(default_factory=dict)
    matcher_shards: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.storage = Storage(self.settings)
        self.notifier = EventHub()  # this replica's WebSocket subscribers
        # Events go out through the fan-out: to this replica's subscribers and to the others'.
        self.fanout: Fanout = build_fanout(self.settings, self.notifier)
        self.event_writer = EventWriter(self.storage, self.fanout)
        self._matcher: Matcher | None = None
        self._matcher_lock = asyncio.Lock()

    async def matcher(self) -> Matcher:
        """The face matcher, built from the database on first use (the licence error when
        no descriptor model is configured: there is nothing to match by)."""
        if self._matcher is None:
            model = self.estimators.descriptor_model
            async with self._matcher_lock:
                if self._matcher is None:
                    storage = await self.storage.ready()
                    version, dims = model.descriptor_version, model.descriptor_size
                    matcher: Matcher
                    if self.matcher_shards:
                        matcher = deployed_matcher(
                            storage.database,
                            self.matcher_shards,
                            version,
                            dims,
                            self.settings.matcher.load_timeout_s,
                        )
                    else:
                        matcher = local_matcher(
                            storage.database, self.settings.matcher, version, dims
                        )
                    await matcher.start()
                    self._matcher = matcher
        return self._matcher

    async def faces_changed(self, account_id: str, face_ids: Sequence[str]) -> None:
        """Tell the matcher (if it runs) that these faces were created, changed, linked,
        unlinked or removed; when this returns, searches see the change."""
        if not face_ids:
            return
        # In-process, a matcher not started yet will read these faces when it starts. The
        # shards of a deployed matcher load on their own, so they must always hear.
        if self._matcher is None and not self._matcher_lock.locked() and not self.matcher_shards:
            return
        await (await self.matcher()).refresh_faces(account_id, face_ids)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A database session in one transaction (the storage opened first if need be)."""
        storage = await self.storage.ready()
        async with storage.database.transaction() as session:
            yield session

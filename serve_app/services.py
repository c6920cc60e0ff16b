"""What the routes work with: settings and the estimators, bundled for the app factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.estimators import Estimators
from serve_app.notifications import EventHub
from serve_app.settings import Settings
from serve_app.storage.events import EventWriter
from serve_app.storage.store import Storage


@dataclass
class Services:
    """The service's collaborators. ``deployment`` describes how it is deployed (for /config)."""

    settings: Settings
    estimators: Estimators
    deployment: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.storage = Storage(self.settings)
        self.notifier = EventHub()
        self.event_writer = EventWriter(self.storage, self.notifier)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A database session in one transaction (the storage opened first if need be)."""
        storage = await self.storage.ready()
        async with storage.database.transaction() as session:
            yield session

"""The storage a service instance uses: database, blob store, and expiry of temporary data."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import delete

from serve_app.settings import Settings
from serve_app.storage.blobs import BlobStore, build_blob_store
from serve_app.storage.db import Database
from serve_app.storage.tables import Attribute, utcnow

log = logging.getLogger(__name__)

EXPIRY_PERIOD_S = 5.0


class Storage:
    """Opened on first use: the schema is migrated once per process, then a background task
    removes expired temporary attributes (reads also hide them, so expiry is exact)."""

    def __init__(self, settings: Settings) -> None:
        self.database = Database(settings.resolved_database_url)
        self.blobs: BlobStore = build_blob_store(settings)
        self._ready = False
        self._lock = asyncio.Lock()
        self._expiry: asyncio.Task | None = None

    async def ready(self) -> Storage:
        """This storage, migrated and with its expiry task running."""
        if not self._ready:
            async with self._lock:
                if not self._ready:
                    await self.database.migrate()
                    self._expiry = asyncio.get_running_loop().create_task(self._expire_loop())
                    self._ready = True
        return self

    async def expire(self) -> int:
        """Remove temporary attributes whose time is up; returns how many."""
        async with self.database.transaction() as session:
            result = await session.execute(
                delete(Attribute).where(Attribute.expire_time <= utcnow())
            )
        return result.rowcount or 0

    async def _expire_loop(self) -> None:
        while True:
            await asyncio.sleep(EXPIRY_PERIOD_S)
            try:
                await self.expire()
            except Exception:  # a database hiccup must not end expiry for good
                log.exception("removing expired attributes failed")

    async def close(self) -> None:
        """Stop the expiry task and close the database and blob store connections."""
        if self._expiry is not None:
            self._expiry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._expiry
        await self.database.dispose()
        await self.blobs.close()

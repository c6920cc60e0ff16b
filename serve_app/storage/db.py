"""The database: an async engine for SQLite (embedded default) or PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from serve_app.storage import migrate


class Database:
    """An engine, its sessions, and the schema migrations for one database URL.

    URLs: ``sqlite+aiosqlite:///path/luna.db`` or ``postgresql+asyncpg://user:pass@host/db``.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.backend = make_url(url).get_backend_name()
        options: dict[str, Any] = {"pool_pre_ping": True}
        if self.backend == "sqlite":
            # Several ingress replicas may write one file: wait for locks rather than fail.
            options["connect_args"] = {"timeout": 30}
        else:
            options.update(pool_size=10, max_overflow=20)
        self.engine = create_async_engine(url, **options)
        if self.backend == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def migrate(self) -> None:
        """Create or upgrade the schema (Alembic), in a worker thread."""
        await asyncio.to_thread(migrate.upgrade, self.url)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed on success, rolled back on any error, so
        a failed request leaves nothing half-written."""
        async with self.sessions() as session, session.begin():
            yield session

    async def ping(self) -> None:
        """Raise unless the database answers."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    # Cascading deletes need foreign keys on, per connection; WAL lets readers work while a
    # writer commits.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()

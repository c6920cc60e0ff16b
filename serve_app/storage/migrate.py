"""Bring a database to the newest schema with Alembic, safely from several processes."""

from __future__ import annotations

import fcntl
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    """An Alembic configuration for ``url`` without an alembic.ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Apply every migration not applied yet. Blocking: call it from a worker thread.

    Ingress replicas start together; PostgreSQL serialises them with an advisory lock taken
    in the migration's transaction, SQLite with a lock file beside the database.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        database = Path(parsed.database)
        database.parent.mkdir(parents=True, exist_ok=True)
        with open(database.with_name(database.name + ".migrate-lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            command.upgrade(alembic_config(url), "head")
        return
    command.upgrade(alembic_config(url), "head")

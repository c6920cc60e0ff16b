"""The face change feed: how every replica of a matcher shard sees every write.

A change (a face created, changed, linked, unlinked or removed) is one call to
``Matcher.refresh_faces``, after the write commits. With shard deployments it appends a row
per face to ``face_changes`` and returns its sequence number. Each shard replica follows the
feed (:class:`ChangeFollower`): it polls every ``follow_interval_s``, re-reads the faces
named and applies their current state, so replicas converge whichever of them a request
reached. A search carries the last sequence number its ingress wrote; a replica behind it
catches up before searching, so an ingress reads its own writes from any replica.

Sequence numbers may commit out of order on PostgreSQL (two writers): a follower moves its
watermark only over numbers it has seen, waiting ``GAP_WAIT_S`` for a missing one (a
transaction still committing) before passing it (a rolled-back insert leaves a hole for good).
Applying a face twice is harmless: it reads the face's current state.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select

from models.matching import FaceRow
from serve_app.matching.loader import read_faces
from serve_app.storage.db import Database
from serve_app.storage.tables import FaceChange

log = logging.getLogger(__name__)

GAP_WAIT_S = 5.0
KEEP = timedelta(hours=1)  # a replica down longer reloads from the database anyway
PAGE = 1000
TRIM_EVERY_S = 600.0

Apply = Callable[[list[FaceRow], list[str]], Awaitable[None]]


async def record(database: Database, account_id: str, face_ids: Sequence[str]) -> int:
    """Append the changes of ``face_ids``; their last sequence number."""
    now = datetime.now(UTC)
    async with database.transaction() as session:
        result = await session.execute(
            insert(FaceChange).returning(FaceChange.seq),
            [{"account_id": account_id, "face_id": f, "create_time": now} for f in face_ids],
        )
        return max(result.scalars().all())


async def latest(database: Database) -> int:
    """The last sequence number written (0 for none)."""
    async with database.transaction() as session:
        return int((await session.execute(select(func.max(FaceChange.seq)))).scalar() or 0)


async def trim(database: Database, keep: timedelta = KEEP) -> None:
    """Forget changes older than ``keep``."""
    async with database.transaction() as session:
        await session.execute(
            delete(FaceChange).where(FaceChange.create_time < datetime.now(UTC) - keep)
        )


class ChangeFollower:
    """Follows the feed for one shard replica from ``start`` on, applying through ``apply``."""

    def __init__(
        self, database: Database, apply: Apply, descriptor_version: int, dims: int, start: int
    ) -> None:
        self.database, self.apply = database, apply
        self.version, self.dims = descriptor_version, dims
        self.watermark = start  # every change up to here is applied
        self._seen: set[int] = set()  # applied above the watermark
        self._missing_since: dict[int, float] = {}
        self._lock = asyncio.Lock()

    async def wait_for(self, seq: int) -> None:
        """Return once every change up to ``seq`` is applied (catching up now if need be)."""
        while self.watermark < seq:
            before = self.watermark
            await self.catch_up()
            if self.watermark == before:
                await asyncio.sleep(0.01)  # a number below seq is still committing

    async def catch_up(self) -> int:
        """Apply what the feed holds beyond the watermark; how many changes were applied."""
        async with self._lock:
            async with self.database.transaction() as session:
                query = (
                    select(FaceChange.seq, FaceChange.account_id, FaceChange.face_id)
                    .where(FaceChange.seq > self.watermark)
                    .order_by(FaceChange.seq)
                    .limit(PAGE)
                )
                changes = [c for c in (await session.execute(query)).all()
                           if c[0] not in self._seen]  # fmt: skip
            by_account: dict[str, list[str]] = {}
            for _, account_id, face_id in changes:
                by_account.setdefault(account_id, []).append(face_id)
            for account_id, face_ids in by_account.items():
                rows, removals = await read_faces(
                    self.database, account_id, face_ids, self.version, self.dims
                )
                await self.apply(rows, removals)
            self._seen.update(c[0] for c in changes)
            self._advance()
            return len(changes)

    def _advance(self) -> None:
        now = time.monotonic()
        while self._seen:
            following = self.watermark + 1
            if following in self._seen:
                self._seen.discard(following)
                self._missing_since.pop(following, None)
                self.watermark = following
                continue
            # A hole below numbers already seen: committing still, or rolled back.
            since = self._missing_since.setdefault(following, now)
            if now - since < GAP_WAIT_S:
                return
            log.warning("face change %d never appeared; passing it", following)
            self._missing_since.pop(following)
            self.watermark = following

    async def follow(self, interval_s: float) -> None:
        """Catch up every ``interval_s`` until cancelled; an outage is logged and retried.
        Now and then, forget changes older than :data:`KEEP` (any replica may)."""
        trimmed = time.monotonic()
        while True:
            try:
                await self.catch_up()
                if time.monotonic() - trimmed > TRIM_EVERY_S:
                    trimmed = time.monotonic()
                    await trim(self.database)
            except Exception:
                log.exception("following the face change feed failed; retrying")
            await asyncio.sleep(interval_s)


def follower_for(settings: dict[str, Any], apply: Apply) -> Callable[[], Awaitable[Any]]:
    """For a shard deployment: ``start()`` returns (the follower, its database), reading the
    feed's current end before the shard's load begins, so nothing written during the load is
    missed (a face applied twice is harmless)."""

    async def start() -> tuple[ChangeFollower, Database]:
        database = Database(settings["database_url"])
        await database.migrate()
        follower = ChangeFollower(
            database, apply, settings["descriptor_version"], settings["dims"],
            await latest(database),
        )  # fmt: skip
        return follower, database

    return start

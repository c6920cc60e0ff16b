"""Handlers and verifiers in the database, always within one account."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.storage.common import like
from serve_app.storage.tables import Handler, Verifier, utcnow


class HandlerStore:
    """CRUD of handlers."""

    def __init__(self, session: AsyncSession, account_id: str) -> None:
        self.session = session
        self.account_id = account_id

    def _query(self, description: str | None, is_dynamic: int | None) -> Select:
        query = select(Handler).where(Handler.account_id == self.account_id)
        if description:
            query = query.where(Handler.description.ilike(like(description), escape="\\"))
        if is_dynamic is not None:
            query = query.where(Handler.is_dynamic == bool(is_dynamic))
        return query

    async def create(self, description: str, policies: dict | None, is_dynamic: bool) -> Handler:
        """A new handler."""
        now = utcnow()
        handler = Handler(
            handler_id=str(uuid.uuid4()),
            account_id=self.account_id,
            description=description,
            policies=None if is_dynamic else policies,
            is_dynamic=is_dynamic,
            create_time=now,
            last_update_time=now,
        )
        self.session.add(handler)
        await self.session.flush()
        return handler

    async def get(self, handler_id: str) -> Handler | None:
        """The handler, if it exists in this account."""
        query = select(Handler).where(
            Handler.handler_id == handler_id, Handler.account_id == self.account_id
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def find(
        self, description: str | None, is_dynamic: int | None, offset: int, limit: int
    ) -> list[Handler]:
        """One page of handlers, newest first."""
        query = self._query(description, is_dynamic).order_by(
            Handler.create_time.desc(), Handler.handler_id
        )
        return list((await self.session.execute(query.offset(offset).limit(limit))).scalars())

    async def count(self, description: str | None, is_dynamic: int | None) -> int:
        """How many handlers match."""
        query = select(func.count()).select_from(self._query(description, is_dynamic).subquery())
        return int((await self.session.execute(query)).scalar_one())

    async def replace(
        self, handler_id: str, description: str, policies: dict | None, is_dynamic: bool
    ) -> bool:
        """Replace every field at once (one UPDATE: a concurrent reader never sees a mix)."""
        result = await self.session.execute(
            update(Handler)
            .where(Handler.handler_id == handler_id, Handler.account_id == self.account_id)
            .values(
                description=description,
                policies=None if is_dynamic else policies,
                is_dynamic=is_dynamic,
                last_update_time=utcnow(),
            )
        )
        return result.rowcount == 1

    async def remove(self, handler_id: str) -> bool:
        """Delete the handler; False when there was none."""
        result = await self.session.execute(
            delete(Handler).where(
                Handler.handler_id == handler_id, Handler.account_id == self.account_id
            )
        )
        return result.rowcount == 1


class VerifierStore:
    """CRUD of verifiers; each replace increments the version."""

    def __init__(self, session: AsyncSession, account_id: str) -> None:
        self.session = session
        self.account_id = account_id

    def _query(self, description: str | None) -> Select:
        query = select(Verifier).where(Verifier.account_id == self.account_id)
        if description:
            query = query.where(Verifier.description.ilike(like(description), escape="\\"))
        return query

    async def create(self, description: str, policies: dict[str, Any]) -> Verifier:
        """A new verifier, version 1."""
        now = utcnow()
        verifier = Verifier(
            verifier_id=str(uuid.uuid4()),
            account_id=self.account_id,
            description=description,
            policies=policies,
            version=1,
            create_time=now,
            last_update_time=now,
        )
        self.session.add(verifier)
        await self.session.flush()
        return verifier

    async def get(self, verifier_id: str) -> Verifier | None:
        """The verifier, if it exists in this account."""
        query = select(Verifier).where(
            Verifier.verifier_id == verifier_id, Verifier.account_id == self.account_id
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def find(self, description: str | None, offset: int, limit: int) -> list[Verifier]:
        """One page of verifiers, newest first."""
        query = self._query(description).order_by(Verifier.create_time.desc(), Verifier.verifier_id)
        return list((await self.session.execute(query.offset(offset).limit(limit))).scalars())

    async def count(self, description: str | None) -> int:
        """How many verifiers match."""
        query = select(func.count()).select_from(self._query(description).subquery())
        return int((await self.session.execute(query)).scalar_one())

    async def replace(
        self, verifier_id: str, description: str, policies: dict[str, Any]
    ) -> int | None:
        """Replace the verifier; its new version, or None when there is none."""
        result = await self.session.execute(
            update(Verifier)
            .where(Verifier.verifier_id == verifier_id, Verifier.account_id == self.account_id)
            .values(
                description=description,
                policies=policies,
                version=Verifier.version + 1,
                last_update_time=utcnow(),
            )
            .returning(Verifier.version)
        )
        return result.scalar_one_or_none()

    async def remove(self, verifier_id: str) -> bool:
        """Delete the verifier; False when there was none."""
        result = await self.session.execute(
            delete(Verifier).where(
                Verifier.verifier_id == verifier_id, Verifier.account_id == self.account_id
            )
        )
        return result.rowcount == 1

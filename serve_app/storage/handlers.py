"""Handlers and verifiers in the database, always within one account."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select

from serve_app.storage.common import AccountStore, Row, like
from serve_app.storage.tables import Handler, Verifier, utcnow


class _PolicyStore(AccountStore[Row]):
    """What handlers and verifiers share: a description to search, and policies."""

    def _described(self, description: str | None) -> Select:
        query = self._select()
        if description:
            query = query.where(self.model.description.ilike(like(description), escape="\\"))
        return query

    async def _create(self, description: str, policies: dict | None, **fields: Any) -> Row:
        now = utcnow()
        return await self._insert(
            description=description,
            policies=policies,
            create_time=now,
            last_update_time=now,
            **fields,
        )


class HandlerStore(_PolicyStore[Handler]):
    """CRUD of handlers. A dynamic handler keeps no policies: they come with each request."""

    model = Handler

    def _query(self, description: str | None, is_dynamic: int | None) -> Select:
        query = self._described(description)
        if is_dynamic is not None:
            query = query.where(Handler.is_dynamic == bool(is_dynamic))
        return query

    async def create(self, description: str, policies: dict | None, is_dynamic: bool) -> Handler:
        """A new handler."""
        return await self._create(
            description, None if is_dynamic else policies, is_dynamic=is_dynamic
        )

    async def find(
        self, description: str | None, is_dynamic: int | None, offset: int, limit: int
    ) -> list[Handler]:
        """One page of handlers, newest first."""
        return await self._page(self._query(description, is_dynamic), offset, limit)

    async def count(self, description: str | None, is_dynamic: int | None) -> int:
        """How many handlers match."""
        return await self._count(self._query(description, is_dynamic))

    async def replace(
        self, handler_id: str, description: str, policies: dict | None, is_dynamic: bool
    ) -> bool:
        """Replace every field at once (one UPDATE: a concurrent reader never sees a mix)."""
        result = await self.session.execute(
            self._updating(handler_id).values(
                description=description,
                policies=None if is_dynamic else policies,
                is_dynamic=is_dynamic,
                last_update_time=utcnow(),
            )
        )
        return result.rowcount == 1


class VerifierStore(_PolicyStore[Verifier]):
    """CRUD of verifiers; each replace increments the version."""

    model = Verifier

    async def create(self, description: str, policies: dict[str, Any]) -> Verifier:
        """A new verifier, version 1."""
        return await self._create(description, policies, version=1)

    async def find(self, description: str | None, offset: int, limit: int) -> list[Verifier]:
        """One page of verifiers, newest first."""
        return await self._page(self._described(description), offset, limit)

    async def count(self, description: str | None) -> int:
        """How many verifiers match."""
        return await self._count(self._described(description))

    async def replace(
        self, verifier_id: str, description: str, policies: dict[str, Any]
    ) -> int | None:
        """Replace the verifier; its new version, or None when there is none."""
        result = await self.session.execute(
            self._updating(verifier_id)
            .values(
                description=description,
                policies=policies,
                version=Verifier.version + 1,
                last_update_time=utcnow(),
            )
            .returning(Verifier.version)
        )
        return result.scalar_one_or_none()

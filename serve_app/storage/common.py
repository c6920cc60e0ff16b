"""What every store shares: the account filter, written once, and query helpers."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Column, ColumnElement, Select, Update, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.storage.tables import Base

Row = TypeVar("Row", bound=Base)


def like(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, with LIKE's wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class AccountStore(Generic[Row]):
    """Rows of one table that belong to one account (or, for lists and counts, to all).

    Every read, update and delete a store makes goes through :meth:`_visible`, so no query
    can forget the account: an object of another account is, to this store, no object.
    Subclasses name their table (``model``, whose primary key is the object's id), and may
    narrow :meth:`_visible` further (temporary attributes hide expired rows).
    """

    model: ClassVar[type[Base]]

    def __init__(self, session: AsyncSession, account_id: str | None) -> None:
        """``account_id`` None means every account: only for list and count reads (through
        :meth:`_select`); anything that reads one object or changes state refuses it."""
        self.session = session
        self.account_id = account_id

    @property
    def key(self) -> Column[str]:
        """The id column (the table's one-column primary key)."""
        return self.model.__mapper__.primary_key[0]

    def _visible(self) -> list[ColumnElement[bool]]:
        """Conditions a row must meet for this store to see it."""
        if self.account_id is None:
            return []
        return [self.model.account_id == self.account_id]

    def _owner(self) -> str:
        """The store's account; a store of all accounts cannot name one object or write."""
        if self.account_id is None:
            raise ValueError(f"{type(self).__name__} of all accounts is for lists and counts")
        return self.account_id

    def _one(self, object_id: str) -> list[ColumnElement[bool]]:
        self._owner()
        return [self.key == object_id, *self._visible()]

    def _select(self) -> Select:
        """The rows this store sees, for a subclass to filter further."""
        return select(self.model).where(*self._visible())

    def _updating(self, object_id: str) -> Update:
        """An UPDATE of the one row ``object_id``, if this store sees it."""
        return update(self.model).where(*self._one(object_id))

    def _new(self, **fields: Any) -> Row:
        """A new row of this account under a fresh id, not yet added to the session."""
        return self.model(**{self.key.key: str(uuid.uuid4())}, account_id=self._owner(), **fields)

    async def _insert(self, **fields: Any) -> Row:
        """A new row of this account under a fresh id, flushed."""
        row = self._new(**fields)
        self.session.add(row)
        await self.session.flush()
        return row

    async def _page(self, query: Select, offset: int, limit: int) -> list[Row]:
        """One page of ``query``'s rows, newest first (the id breaks ties, so pages are
        stable)."""
        query = query.order_by(self.model.create_time.desc(), self.key)
        return list((await self.session.execute(query.offset(offset).limit(limit))).scalars())

    async def _count(self, query: Select) -> int:
        """How many rows ``query`` selects."""
        counted = select(func.count()).select_from(query.subquery())
        return int((await self.session.execute(counted)).scalar_one())

    async def get(self, object_id: str) -> Row | None:
        """The row, if this store sees it."""
        query = select(self.model).where(*self._one(object_id))
        return (await self.session.execute(query)).scalar_one_or_none()

    async def get_many(self, object_ids: Iterable[str]) -> list[Row]:
        """The rows of ``object_ids`` this store sees (in no particular order)."""
        self._owner()
        wanted = list(dict.fromkeys(object_ids))
        if not wanted:
            return []
        query = select(self.model).where(self.key.in_(wanted), *self._visible())
        return list((await self.session.execute(query)).scalars())

    async def missing(self, object_ids: Iterable[str]) -> list[str]:
        """Those of ``object_ids`` (first occurrence order) this store does not see."""
        self._owner()
        wanted = list(dict.fromkeys(object_ids))
        if not wanted:
            return []
        query = select(self.key).where(self.key.in_(wanted), *self._visible())
        found = set((await self.session.execute(query)).scalars())
        return [i for i in wanted if i not in found]

    async def remove(self, object_id: str) -> bool:
        """Delete the row (rows that reference it go by their foreign keys' cascade);
        False when this store sees no such row."""
        result = await self.session.execute(delete(self.model).where(*self._one(object_id)))
        return result.rowcount == 1

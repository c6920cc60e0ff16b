"""Query helpers shared by the stores."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute


def like(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, with LIKE's wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def missing_ids(
    session: AsyncSession,
    id_column: InstrumentedAttribute,
    account_column: InstrumentedAttribute,
    account_id: str,
    ids: Iterable[str],
) -> list[str]:
    """Those of ``ids`` (first occurrence order) that are no rows of ``account_id``."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    query = select(id_column).where(id_column.in_(wanted), account_column == account_id)
    found = set((await session.execute(query)).scalars())
    return [i for i in wanted if i not in found]

"""What the routes of stored, account-scoped objects share: the object's id in the path, and
reading, checking and removing one object with its not-found error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Generic

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from serve_app.errors import ErrorKind, LunaError
from serve_app.services import Services
from serve_app.storage.common import AccountStore, Row

# UUIDs compare in lower case, as they are stored.
ObjectId = Annotated[
    str,
    Path(pattern=r"^[a-fA-F0-9]{8}-([a-fA-F0-9]{4}-){3}[a-fA-F0-9]{12}$"),
    AfterValidator(str.lower),
]


class DescribedBody(BaseModel):
    """The part of a handler's or verifier's body they share: a free-form description."""

    model_config = ConfigDict(extra="forbid")
    description: str = Field("", max_length=128)


class DescriptionFilter(BaseModel):
    """Filter of the list and count of handlers and verifiers: a part of the description."""

    description: str | None = Field(None, max_length=128)


@dataclass(frozen=True)
class Stored(Generic[Row]):
    """One kind of stored object: its store and the error when one is not there (or is
    another account's, which is the same to the caller)."""

    store: Callable[[AsyncSession, str], AccountStore[Row]]
    not_found: ErrorKind

    async def get(self, services: Services, account_id: str, object_id: str) -> Row:
        """The object, or the not-found error."""
        async with services.transaction() as session:
            row = await self.store(session, account_id).get(object_id)
        if row is None:
            raise LunaError(self.not_found, object_id)
        return row

    async def check(self, services: Services, account_id: str, object_id: str) -> Response:
        """A HEAD answer: 200 when the object exists, 404 (no body) when not."""
        async with services.transaction() as session:
            row = await self.store(session, account_id).get(object_id)
        return Response(status_code=200 if row is not None else 404)

    async def remove(self, services: Services, account_id: str, object_id: str) -> Response:
        """Remove the object: 204, or the not-found error."""
        async with services.transaction() as session:
            removed = await self.store(session, account_id).remove(object_id)
        if not removed:
            raise LunaError(self.not_found, object_id)
        return Response(status_code=204)

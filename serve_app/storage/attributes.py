"""Samples (face and body warps) and temporary attributes in the database, within one
account."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.storage.common import AccountStore
from serve_app.storage.tables import Attribute, Sample, utcnow


class SampleStore(AccountStore[Sample]):
    """Which samples of one kind (face or body) exist and whose they are; the images are in
    the blob store. A sample of the other kind is, to this store, no sample."""

    model = Sample

    def __init__(self, session: AsyncSession, account_id: str | None, kind: str = "face") -> None:
        super().__init__(session, account_id)
        self.kind = kind

    def _visible(self) -> list[ColumnElement[bool]]:
        return [*super()._visible(), Sample.kind == self.kind]

    async def create_many(self, count: int) -> list[str]:
        """Ids of ``count`` new samples."""
        now = utcnow()
        rows = [self._new(kind=self.kind, create_time=now) for _ in range(count)]
        self.session.add_all(rows)
        await self.session.flush()
        return [row.sample_id for row in rows]


class AttributeStore(AccountStore[Attribute]):
    """Temporary attributes: they expire ``ttl`` seconds after creation, and reads already
    ignore expired ones before the cleanup task removes them."""

    model = Attribute

    def _visible(self) -> list[ColumnElement[bool]]:
        # An expired attribute is gone for every read and delete, cleaned up or not.
        return [*super()._visible(), Attribute.expire_time > utcnow()]

    async def create(
        self,
        descriptor: bytes | None,
        descriptor_version: int | None,
        descriptor_score: float | None,
        basic_attributes: dict | None,
        samples: list[str],
        ttl_s: int,
    ) -> Attribute:
        """A new temporary attribute."""
        now = utcnow()
        return await self._insert(
            descriptor=descriptor,
            descriptor_version=descriptor_version,
            descriptor_score=descriptor_score,
            basic_attributes=basic_attributes,
            samples=samples,
            create_time=now,
            expire_time=now + timedelta(seconds=ttl_s),
        )

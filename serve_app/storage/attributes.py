"""Samples (face warps) and temporary attributes in the database, within one account."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.storage.common import missing_ids
from serve_app.storage.tables import Attribute, Sample, utcnow


class SampleStore:
    """Which samples exist and whose they are; the images are in the blob store."""

    def __init__(self, session: AsyncSession, account_id: str) -> None:
        self.session = session
        self.account_id = account_id

    async def create_many(self, count: int, kind: str = "face") -> list[str]:
        """Ids of ``count`` new samples."""
        now = utcnow()
        ids = [str(uuid.uuid4()) for _ in range(count)]
        self.session.add_all(
            Sample(sample_id=i, account_id=self.account_id, kind=kind, create_time=now) for i in ids
        )
        await self.session.flush()
        return ids

    async def missing(self, sample_ids: Iterable[str]) -> list[str]:
        """Those of ``sample_ids`` that are not samples of this account."""
        return await missing_ids(
            self.session, Sample.sample_id, Sample.account_id, self.account_id, sample_ids
        )

    async def remove(self, sample_id: str) -> bool:
        """Forget the sample; False when there was none."""
        result = await self.session.execute(
            delete(Sample).where(
                Sample.sample_id == sample_id, Sample.account_id == self.account_id
            )
        )
        return result.rowcount == 1


class AttributeStore:
    """Temporary attributes: they expire ``ttl`` seconds after creation, and reads already
    ignore expired ones before the cleanup task removes them."""

    def __init__(self, session: AsyncSession, account_id: str) -> None:
        self.session = session
        self.account_id = account_id

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
        row = Attribute(
            attribute_id=str(uuid.uuid4()),
            account_id=self.account_id,
            descriptor=descriptor,
            descriptor_version=descriptor_version,
            descriptor_score=descriptor_score,
            basic_attributes=basic_attributes,
            samples=samples,
            create_time=now,
            expire_time=now + timedelta(seconds=ttl_s),
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def get(self, attribute_id: str) -> Attribute | None:
        """The attribute, if it exists in this account and has not expired."""
        query = select(Attribute).where(
            Attribute.attribute_id == attribute_id,
            Attribute.account_id == self.account_id,
            Attribute.expire_time > utcnow(),
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def remove(self, attribute_id: str) -> bool:
        """Delete the attribute; False when there was none (or it had expired)."""
        result = await self.session.execute(
            delete(Attribute).where(
                Attribute.attribute_id == attribute_id,
                Attribute.account_id == self.account_id,
                Attribute.expire_time > utcnow(),
            )
        )
        return result.rowcount == 1

"""Lists and faces in the database (LUNA keeps them in its Faces service; here they live
beside the handlers), always within one account."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from serve_app.storage.common import AccountStore
from serve_app.storage.tables import Face, FaceDescriptor, FaceList, ListFace, utcnow


class ListStore(AccountStore[FaceList]):
    """CRUD of lists and their links to faces. Removing a list (the inherited ``remove``)
    takes its links with it; its faces stay."""

    model = FaceList

    async def create(self, user_data: str) -> FaceList:
        """A new, empty list."""
        now = utcnow()
        return await self._insert(user_data=user_data, create_time=now, last_update_time=now)

    async def find(self, user_data: str | None, offset: int, limit: int) -> list[FaceList]:
        """One page of lists, newest first."""
        query = self._select()
        if user_data:
            query = query.where(FaceList.user_data == user_data)
        return await self._page(query, offset, limit)

    async def count_faces(self, list_ids: Iterable[str]) -> dict[str, int]:
        """Faces per list."""
        ids = list(list_ids)
        if not ids:
            return {}
        query = (
            select(ListFace.list_id, func.count())
            .where(ListFace.list_id.in_(ids))
            .group_by(ListFace.list_id)
        )
        counts = {list_id: count for list_id, count in (await self.session.execute(query)).all()}
        return {list_id: int(counts.get(list_id, 0)) for list_id in ids}

    async def attach(self, list_id: str, face_ids: Iterable[str]) -> None:
        """Link faces to the list; a face already in it stays once, also when two requests
        attach it at the same moment (the database skips the duplicate link)."""
        rows = [
            {"list_id": list_id, "face_id": face_id, "link_time": utcnow()}
            for face_id in sorted(set(face_ids))
        ]
        if rows:
            dialect = self.session.bind.dialect.name
            insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
            await self.session.execute(insert(ListFace).values(rows).on_conflict_do_nothing())
        await self._touch(list_id)

    async def detach(self, list_id: str, face_ids: Iterable[str]) -> None:
        """Unlink faces from the list."""
        await self.session.execute(
            delete(ListFace).where(ListFace.list_id == list_id, ListFace.face_id.in_(set(face_ids)))
        )
        await self._touch(list_id)

    async def _touch(self, list_id: str) -> None:
        await self.session.execute(self._updating(list_id).values(last_update_time=utcnow()))
        await self.session.flush()


class FaceStore(AccountStore[Face]):
    """CRUD of faces and their descriptors. Removing a face (the inherited ``remove``) takes
    its descriptors and list links with it.

    Routes and pipelines change faces through :mod:`serve_app.face_records`, not this store
    directly, so that what follows a change to a face is done in one place.
    """

    model = Face

    async def create(
        self,
        descriptors: dict[int, tuple[bytes, float | None]],
        basic_attributes: dict | None,
        samples: list[str],
        user_data: str,
        external_id: str,
        event_id: str | None = None,
        avatar: str = "",
    ) -> Face:
        """A new face with its descriptors (version -> (bytes, score))."""
        now = utcnow()
        face = await self._insert(
            user_data=user_data,
            external_id=external_id,
            event_id=event_id,
            avatar=avatar,
            basic_attributes=basic_attributes,
            samples=samples,
            create_time=now,
            last_update_time=now,
        )
        self.session.add_all(
            FaceDescriptor(face_id=face.face_id, version=version, descriptor=data, score=score)
            for version, (data, score) in descriptors.items()
        )
        await self.session.flush()
        return face

    async def find(
        self, list_id: str | None, external_id: str | None, offset: int, limit: int
    ) -> list[Face]:
        """One page of faces, newest first, optionally of one list or external id."""
        query = self._select()
        if list_id:
            query = query.join(ListFace, ListFace.face_id == Face.face_id).where(
                ListFace.list_id == list_id
            )
        if external_id:
            query = query.where(Face.external_id == external_id)
        return await self._page(query, offset, limit)

    async def lists_of(self, face_ids: Iterable[str]) -> dict[str, list[str]]:
        """The lists each face is in."""
        ids = list(face_ids)
        found: dict[str, list[str]] = {face_id: [] for face_id in ids}
        if ids:
            query = select(ListFace.face_id, ListFace.list_id).where(ListFace.face_id.in_(ids))
            for face_id, list_id in (await self.session.execute(query)).all():
                found[face_id].append(list_id)
        return {face_id: sorted(lists) for face_id, lists in found.items()}

    async def descriptors_of(self, face_ids: Iterable[str]) -> dict[str, dict[int, FaceDescriptor]]:
        """Each face's descriptors by version."""
        ids = list(face_ids)
        found: dict[str, dict[int, FaceDescriptor]] = {face_id: {} for face_id in ids}
        if ids:
            query = select(FaceDescriptor).where(FaceDescriptor.face_id.in_(ids))
            for row in (await self.session.execute(query)).scalars():
                found[row.face_id][row.version] = row
        return found

    async def update(self, face_id: str, **fields: object) -> bool:
        """Set some fields of a face; False when there is no such face."""
        result = await self.session.execute(
            self._updating(face_id).values(**fields, last_update_time=utcnow())
        )
        return result.rowcount == 1

    async def put_descriptor(
        self, face_id: str, version: int, descriptor: bytes, score: float | None
    ) -> None:
        """Add or replace the face's descriptor of ``version``."""
        await self.session.execute(
            delete(FaceDescriptor).where(
                FaceDescriptor.face_id == face_id, FaceDescriptor.version == version
            )
        )
        self.session.add(
            FaceDescriptor(face_id=face_id, version=version, descriptor=descriptor, score=score)
        )
        await self.session.flush()

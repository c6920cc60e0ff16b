"""Faces from the database as index rows: all of them in pages (the initial build), or a few
by id (a refresh after a change)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import numpy as np
from sqlalchemy import and_, select

from models.matching import FaceRow
from serve_app.storage.db import Database
from serve_app.storage.tables import Face, FaceDescriptor, ListFace

log = logging.getLogger(__name__)


def _vector(blob: bytes, dims: int, face_id: str) -> np.ndarray | None:
    # Stored descriptors are raw float32 LE (models.descriptor_format.raw); a face stored
    # with a wrong size cannot be compared, so it is left out rather than failing the build.
    if len(blob) != 4 * dims:
        log.warning(
            "face %s: descriptor of %d bytes, expected %d; not indexed",
            face_id,
            len(blob),
            4 * dims,
        )
        return None
    vector = np.frombuffer(blob, dtype="<f4").astype(np.float32)
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm == 0.0:
        log.warning("face %s: zero or non-finite descriptor; not indexed", face_id)
        return None
    return vector / norm


async def _lists_of(session: Any, face_ids: Sequence[str]) -> dict[str, list[str]]:
    links: dict[str, list[str]] = {}
    if face_ids:
        query = select(ListFace.face_id, ListFace.list_id).where(ListFace.face_id.in_(face_ids))
        for face_id, list_id in (await session.execute(query)).all():
            links.setdefault(face_id, []).append(list_id)
    return links


def _rows(
    records: Iterable[Any], links: dict[str, list[str]], version: int, dims: int
) -> list[FaceRow]:
    rows = []
    for face_id, account_id, external_id, user_data, create_time, blob in records:
        vector = _vector(blob, dims, face_id)
        if vector is not None:
            rows.append(
                FaceRow(
                    face_id=face_id,
                    account_id=account_id,
                    descriptor=vector,
                    descriptor_version=version,
                    create_time=create_time,
                    list_ids=tuple(sorted(links.get(face_id, ()))),
                    external_id=external_id or "",
                    user_data=user_data or "",
                )
            )
    return rows


_COLUMNS = (
    Face.face_id,
    Face.account_id,
    Face.external_id,
    Face.user_data,
    Face.create_time,
    FaceDescriptor.descriptor,
)


async def iter_pages(
    database: Database, descriptor_version: int, dims: int, page_size: int = 5000
) -> AsyncIterator[list[FaceRow]]:
    """Every face with a descriptor of ``descriptor_version``, ``page_size`` at a time, in
    face_id order. Keyset pages (face_id > last) cost the same at any depth, and each page is
    its own short transaction, so a large table never needs one giant query."""
    last = ""
    while True:
        async with database.transaction() as session:
            query = (
                select(*_COLUMNS)
                .join(FaceDescriptor, FaceDescriptor.face_id == Face.face_id)
                .where(FaceDescriptor.version == descriptor_version, Face.face_id > last)
                .order_by(Face.face_id)
                .limit(page_size)
            )
            records = (await session.execute(query)).all()
            if not records:
                return
            links = await _lists_of(session, [r[0] for r in records])
        last = records[-1][0]
        yield _rows(records, links, descriptor_version, dims)


async def load_pages(settings: dict[str, Any]) -> AsyncIterator[list[FaceRow]]:
    """The loader a shard deployment is bound with: pages of all faces of the configured
    version from ``settings['database_url']`` (each shard keeps its own)."""
    database = Database(settings["database_url"])
    try:
        await database.migrate()  # a fresh database has no tables until the first migration
        async for page in iter_pages(
            database,
            settings["descriptor_version"],
            settings["dims"],
            settings.get("page_size", 5000),
        ):
            yield page
    finally:
        await database.dispose()


async def read_faces(
    database: Database, account_id: str, face_ids: Iterable[str], descriptor_version: int, dims: int
) -> tuple[list[FaceRow], list[str]]:
    """The current state of ``face_ids`` of ``account_id``: rows to upsert (faces with a
    descriptor of the version) and ids to remove (faces gone, or without such a descriptor).

    A face of another account is neither: this caller cannot have changed it, and removing it
    here would let one account take another's face out of the index.
    """
    wanted = list(dict.fromkeys(face_ids))
    if not wanted:
        return [], []
    async with database.transaction() as session:
        owners = dict(
            (
                await session.execute(
                    select(Face.face_id, Face.account_id).where(Face.face_id.in_(wanted))
                )
            ).all()
        )
        query = (
            select(*_COLUMNS)
            .join(
                FaceDescriptor,
                and_(
                    FaceDescriptor.face_id == Face.face_id,
                    FaceDescriptor.version == descriptor_version,
                ),
            )
            .where(Face.face_id.in_(wanted), Face.account_id == account_id)
        )
        records = (await session.execute(query)).all()
        links = await _lists_of(session, [r[0] for r in records])
    rows = _rows(records, links, descriptor_version, dims)
    indexed = {r.face_id for r in rows}
    removals = [f for f in wanted if f not in indexed and owners.get(f, account_id) == account_id]
    return rows, removals

"""Samples: face and body warps stored as JPEG in the blob store, known to the database by
account and kind (``face`` or ``body``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import cv2
import numpy as np

from serve_app.errors import SAMPLE_NOT_FOUND, LunaError
from serve_app.http.inputs import ImageInput
from serve_app.pipeline.faces import Body, Face
from serve_app.storage.attributes import SampleStore
from serve_app.storage.blobs import BlobStoreUnavailable
from serve_app.storage.store import Storage

log = logging.getLogger(__name__)

FACE, BODY = "face", "body"
#: The blob store's folder (and the URL's segment) of each kind of sample.
FOLDERS = {FACE: "faces", BODY: "bodies"}
JPEG_QUALITY = 95


def sample_url(sample_id: str, kind: str = FACE) -> str:
    """Where a sample's image is served."""
    return f"/1/samples/{FOLDERS[kind]}/{sample_id}"


def encode(warp: np.ndarray) -> bytes:
    """A warp as JPEG bytes (how samples are stored and /1/sdk returns warps)."""
    ok, data = cv2.imencode(".jpg", warp, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("cannot encode the warp")
    return data.tobytes()


async def store_samples(
    storage: Storage, account_id: str, subjects: Sequence[Face | Body], kind: str = FACE
) -> None:
    """Store each face's (or body's) warp as a sample and set its ``sample_id``.

    The images are written before the rows commit: a failure leaves no row without its
    image (at worst an orphan file, never a sample that cannot be read).
    """
    subjects = [s for s in subjects if s.warp is not None]
    if not subjects:
        return
    images = await asyncio.to_thread(lambda: [encode(s.warp) for s in subjects])
    async with storage.database.transaction() as session:
        ids = await SampleStore(session, account_id, kind).create_many(len(subjects))
        await asyncio.gather(
            *(
                storage.blobs.put(FOLDERS[kind], account_id, i, data)
                for i, data in zip(ids, images, strict=True)
            )
        )
    for subject, sample_id in zip(subjects, ids, strict=True):
        subject.sample_id = sample_id


async def load_face_samples(
    storage: Storage, account_id: str, sample_ids: Sequence[str]
) -> list[np.ndarray]:
    """The warps of the account's samples, in order; 404 naming the first one missing."""
    async with storage.database.transaction() as session:
        missing = await SampleStore(session, account_id).missing(sample_ids)
    if missing:
        raise LunaError(SAMPLE_NOT_FOUND, missing[0])
    blobs = await asyncio.gather(
        *(storage.blobs.get(FOLDERS[FACE], account_id, i) for i in sample_ids)
    )
    warps = []
    for sample_id, data in zip(sample_ids, blobs, strict=True):
        image = (
            None if data is None else cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        )
        if image is None:
            raise LunaError(SAMPLE_NOT_FOUND, sample_id)
        warps.append(image)
    return warps


async def read_sample(storage: Storage, account_id: str, sample_id: str, kind: str = FACE) -> bytes:
    """The JPEG of one of the account's samples of ``kind``."""
    async with storage.database.transaction() as session:
        missing = await SampleStore(session, account_id, kind).missing([sample_id])
    data = None if missing else await storage.blobs.get(FOLDERS[kind], account_id, sample_id)
    if data is None:
        raise LunaError(SAMPLE_NOT_FOUND, sample_id)
    return data


async def remove_sample(
    storage: Storage, account_id: str, sample_id: str, kind: str = FACE
) -> None:
    """Remove one of the account's samples of ``kind``: its row, then its image.

    The row decides whether a sample exists: once it is gone the removal has happened, so a
    blob store that fails to remove the image leaves an orphan object (logged), not an error
    that a retry would turn into "not found".
    """
    async with storage.database.transaction() as session:
        removed = await SampleStore(session, account_id, kind).remove(sample_id)
    if not removed:
        raise LunaError(SAMPLE_NOT_FOUND, sample_id)
    try:
        await storage.blobs.delete(FOLDERS[kind], account_id, sample_id)
    except BlobStoreUnavailable as error:
        log.warning("sample %s removed; its image stays in the blob store: %s", sample_id, error)


async def fill_from_samples(
    storage: Storage, account_id: str, inputs: Sequence[ImageInput]
) -> None:
    """Give each input that names a stored sample (by id, in a JSON body) the sample's JPEG;
    a sample the account does not have fails that input alone."""
    named = [item for item in inputs if item.sample_id is not None and item.error is None]
    if not named:
        return
    async with storage.database.transaction() as session:
        missing = set(await SampleStore(session, account_id).missing([i.sample_id for i in named]))
    blobs = await asyncio.gather(
        *(
            storage.blobs.get(FOLDERS[FACE], account_id, item.sample_id)
            for item in named
            if item.sample_id not in missing
        )
    )
    found = iter(blobs)
    for item in named:
        data = None if item.sample_id in missing else next(found)
        if data is None:
            item.error = LunaError(SAMPLE_NOT_FOUND, item.sample_id)
        else:
            item.data, item.mimetype = data, "image/jpeg"

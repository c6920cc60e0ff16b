"""Where sample images live: a small interface, and a local directory implementation."""

from __future__ import annotations

import asyncio
import os
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path


class BlobStore(ABC):
    """Stores opaque bytes under (kind, account, id)."""

    @abstractmethod
    async def put(self, kind: str, account_id: str, blob_id: str, data: bytes) -> None:
        """Store ``data``; replaces nothing half-way: readers see the old or the new bytes."""

    @abstractmethod
    async def get(self, kind: str, account_id: str, blob_id: str) -> bytes | None:
        """The stored bytes, or None."""

    @abstractmethod
    async def delete(self, kind: str, account_id: str, blob_id: str) -> None:
        """Remove the bytes if present."""


class LocalBlobStore(BlobStore):
    """Files under ``root/kind/account/xx/id`` (``xx``: two first characters of the id)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, kind: str, account_id: str, blob_id: str) -> Path:
        for part in (kind, account_id, blob_id):
            if not part or "/" in part or part.startswith("."):
                raise ValueError(f"bad blob path part {part!r}")
        return self.root / kind / account_id / blob_id[:2] / blob_id

    async def put(self, kind: str, account_id: str, blob_id: str, data: bytes) -> None:
        path = self._path(kind, account_id, blob_id)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as stream:
                    stream.write(data)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

        await asyncio.to_thread(write)

    async def get(self, kind: str, account_id: str, blob_id: str) -> bytes | None:
        path = self._path(kind, account_id, blob_id)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def delete(self, kind: str, account_id: str, blob_id: str) -> None:
        await asyncio.to_thread(self._path(kind, account_id, blob_id).unlink, missing_ok=True)

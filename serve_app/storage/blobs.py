"""Where samples and source images live: a small interface, the local directory
implementation (the embedded default), and the choice between it and an S3 bucket
(serve_app.storage.s3_blobs, for several ingress replicas: docs/shared-state.md)."""

from __future__ import annotations

import asyncio
import os
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path

from serve_app.errors import ErrorKind, LunaError
from serve_app.settings import Settings

# LUNA's "server connection error" (as for an unreachable database), naming the blob store:
# the request may be retried once the store is back.
BLOB_STORE_UNAVAILABLE = ErrorKind(
    11, "Internal server error", "Server connection error: blob store: {}", 503
)


class BlobStoreUnavailable(LunaError):
    """The blob store cannot be reached or refused the call; the client gets the LUNA error."""

    def __init__(self, reason: str) -> None:
        super().__init__(BLOB_STORE_UNAVAILABLE, reason)


def check_parts(kind: str, account_id: str, blob_id: str) -> None:
    """Refuse names that would escape their folder (or key prefix): every part is one
    non-empty path segment."""
    for part in (kind, account_id, blob_id):
        if not part or "/" in part or part.startswith("."):
            raise ValueError(f"bad blob path part {part!r}")


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

    async def close(self) -> None:
        """Release connections (the store is not used afterwards); nothing to release by
        default."""
        return None


class LocalBlobStore(BlobStore):
    """Files under ``root/kind/account/xx/id`` (``xx``: two first characters of the id)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, kind: str, account_id: str, blob_id: str) -> Path:
        check_parts(kind, account_id, blob_id)
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


def build_blob_store(settings: Settings) -> BlobStore:
    """The blob store the settings name: a local directory, or an S3 bucket."""
    if settings.blobs.backend == "s3":
        # Imported here: the S3 client is an optional extra (``pip install .[s3]``).
        from serve_app.storage.s3_blobs import S3BlobStore

        return S3BlobStore(settings.blobs)
    return LocalBlobStore(settings.samples_dir)

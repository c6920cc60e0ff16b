"""Which shard holds a face: a hash of its id that every process computes the same way."""

from __future__ import annotations

import hashlib


def shard_of(face_id: str, shard_count: int) -> int:
    """The shard of ``face_id`` among ``shard_count`` (Python's ``hash`` of a str differs between
    processes, so a digest is used)."""
    if shard_count <= 1:
        return 0
    digest = hashlib.blake2b(face_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") % shard_count

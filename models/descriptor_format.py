"""Descriptor bytes: raw float32, and the versioned "SDK descriptor" container.

LUNA passes descriptors around as opaque "SDK descriptor" blobs whose layout VisionLabs
does not publish. This service's container is documented (docs/descriptors.md) and
versioned so that a client can store it and send it back, and so that a descriptor of
another model is refused rather than compared:

    offset  size  field
    0       4     magic b"LSDD" ("luna-serve descriptor")
    4       2     container format version, uint16 little endian, currently 1
    6       2     descriptor (model) version, uint16 LE, e.g. 1001 for ArcFace MBF w600k
    8       2     number of dimensions D, uint16 LE
    10      2     reserved, 0
    12      4*D   the L2-normalised descriptor, float32 little endian

Raw descriptors are the same 4*D float32 little-endian bytes without the header.
"""

from __future__ import annotations

import struct

import numpy as np

MAGIC = b"LSDD"
FORMAT_VERSION = 1
_HEADER = struct.Struct("<4sHHHH")


class DescriptorFormatError(ValueError):
    """Bytes that are not a descriptor of the expected kind."""


def pack(vector: np.ndarray, version: int) -> bytes:
    """The SDK descriptor container of one descriptor."""
    data = np.asarray(vector, dtype="<f4").ravel()
    return _HEADER.pack(MAGIC, FORMAT_VERSION, version, data.size, 0) + data.tobytes()


def unpack(blob: bytes) -> tuple[np.ndarray, int]:
    """The descriptor and its model version from an SDK descriptor container."""
    if len(blob) < _HEADER.size:
        raise DescriptorFormatError("too short for an SDK descriptor")
    magic, fmt, version, dims, _ = _HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise DescriptorFormatError("not an SDK descriptor of this service (bad magic)")
    if fmt != FORMAT_VERSION:
        raise DescriptorFormatError(f"SDK descriptor format {fmt} is not supported")
    if len(blob) != _HEADER.size + 4 * dims:
        raise DescriptorFormatError(f"SDK descriptor of {dims} dimensions has {len(blob)} bytes")
    return _normalised(np.frombuffer(blob, dtype="<f4", offset=_HEADER.size)), version


def raw(vector: np.ndarray) -> bytes:
    """The raw descriptor bytes (float32 little endian)."""
    return np.asarray(vector, dtype="<f4").ravel().tobytes()


def from_raw(blob: bytes, dims: int) -> np.ndarray:
    """A descriptor from raw float32 bytes of the expected dimension."""
    if len(blob) != 4 * dims:
        raise DescriptorFormatError(f"a raw descriptor has {4 * dims} bytes, got {len(blob)}")
    return _normalised(np.frombuffer(blob, dtype="<f4"))


def _normalised(vector: np.ndarray) -> np.ndarray:
    vector = vector.astype(np.float32)
    if not np.all(np.isfinite(vector)):
        raise DescriptorFormatError("descriptor holds non-finite values")
    norm = float(np.linalg.norm(vector))
    if norm == 0.0:
        raise DescriptorFormatError("descriptor is all zeros")
    return vector / norm

"""Image formats the API accepts, and decoding of one encoded image into pixels.

Pillow reads only the header first, so an image whose pixel count is over the limit is
refused before any memory is spent on it (a 100 kB PNG can claim gigapixels); OpenCV then
decodes the pixels, applying the EXIF orientation unless the client turned that off.
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from serve_app.errors import (
    BAD_BASE64,
    BAD_IMAGE,
    CONTENT_TYPE_MISMATCH,
    IMAGE_TOO_LARGE,
    LunaError,
)

# Pillow's own bomb check raises at twice its limit; we check our configured limit instead.
Image.MAX_IMAGE_PIXELS = None

# mimetype -> short format name used in LUNA's "Failed convert bytes to {format}" detail.
IMAGE_FORMATS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/bmp": "bmp",
    "image/x-portable-pixmap": "ppm",
    "image/tiff": "tiff",
}
BASE64_FORMATS = {
    "image/x-jpeg-base64": "image/jpeg",
    "image/x-png-base64": "image/png",
    "image/x-bmp-base64": "image/bmp",
    "image/x-tiff-base64": "image/tiff",
    "image/x-portable-pixmap-base64": "image/x-portable-pixmap",
}
IMAGE_MIMETYPES = (*IMAGE_FORMATS, *BASE64_FORMATS)


@dataclass(frozen=True)
class ImageLimits:
    """Bounds on one input image."""

    max_bytes: int = 32 * 1024 * 1024
    max_pixels: int = 50_000_000
    max_side: int = 16384


def sniff_mimetype(data: bytes) -> str | None:
    """The image mimetype that the leading bytes announce, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:2] == b"BM":
        return "image/bmp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if len(data) > 2 and data[:1] == b"P" and data[1:2] in b"123456" and data[2:3].isspace():
        return "image/x-portable-pixmap"
    return None


def unwrap(data: bytes, mimetype: str | None) -> tuple[bytes, str | None]:
    """Decode a ``-base64`` body; return the image bytes and their plain mimetype."""
    if mimetype in BASE64_FORMATS:
        return b64decode(data), BASE64_FORMATS[mimetype]
    return data, mimetype


def b64decode(data: bytes | str) -> bytes:
    """Strict base64 (standard or URL-safe alphabet, data-URI prefix allowed)."""
    if isinstance(data, str):
        data = data.encode("ascii", errors="replace")
    data = data.strip()
    if data[:5] == b"data:" and b"," in data:
        data = data.split(b",", 1)[1]
    data = b"".join(data.split())
    if b"-" in data or b"_" in data:
        data = data.replace(b"-", b"+").replace(b"_", b"/")
    data += b"=" * (-len(data) % 4)
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise LunaError(BAD_BASE64) from exc


def check_format(data: bytes, declared: str | None) -> str:
    """The image's mimetype; raises when it is not an image or not the declared type."""
    actual = sniff_mimetype(data)
    if declared in IMAGE_FORMATS and actual is not None and actual != declared:
        raise LunaError(CONTENT_TYPE_MISMATCH)
    if actual is None:
        raise LunaError(BAD_IMAGE, IMAGE_FORMATS.get(declared or "", "image"))
    return actual


def decode(
    data: bytes, mimetype: str | None, limits: ImageLimits, use_exif: bool = True
) -> np.ndarray:
    """Decode an encoded image into an HxWx3 uint8 BGR array.

    ``mimetype`` is what the client declared (None: unknown, sniffed from the bytes).
    Raises :class:`LunaError` for data that is too large, not the declared format, or broken.
    """
    if len(data) > limits.max_bytes:
        raise LunaError(IMAGE_TOO_LARGE, f"{len(data)} bytes, limit is {limits.max_bytes}")
    actual = check_format(data, mimetype)
    name = IMAGE_FORMATS[actual]
    try:
        with Image.open(io.BytesIO(data)) as header:
            width, height = header.size
    except Exception as exc:
        raise LunaError(BAD_IMAGE, name) from exc
    if width * height > limits.max_pixels or max(width, height) > limits.max_side:
        raise LunaError(
            IMAGE_TOO_LARGE,
            f"{width}x{height} pixels, limits are {limits.max_pixels} pixels "
            f"and {limits.max_side} per side",
        )
    flags = cv2.IMREAD_COLOR
    # TIFF is always auto-oriented, as LUNA documents.
    if not use_exif and actual != "image/tiff":
        flags |= cv2.IMREAD_IGNORE_ORIENTATION
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    if image is None or image.size == 0:
        raise LunaError(BAD_IMAGE, name)
    return np.ascontiguousarray(image)

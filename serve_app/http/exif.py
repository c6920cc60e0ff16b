"""EXIF tags of an input image, named and valued as LUNA reports them.

LUNA parses the tags and outputs their names and values as they are (JEITA CP-3451); its
clients read lowercase names (``make``, ``model``, ``orientation``, ``software``, ``flash``,
``artist``, ``gps``). Tag names are therefore turned into snake case ("DateTimeOriginal" ->
``date_time_original``), GPS tags go into a ``gps`` object, and binary blobs (maker notes,
thumbnails) are left out.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
from typing import Any

from PIL import ExifTags, Image

_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_SKIPPED = {"MakerNote", "UserComment", "PrintImageMatching", "ExifOffset", "GPSInfo"}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(name: str) -> str:
    """``DateTimeOriginal`` -> ``date_time_original``; ``GPSLatitude`` -> ``gps_latitude``."""
    return _CAMEL.sub("_", name).lower()


def _value(value: Any) -> Any:
    if isinstance(value, bytes):
        text = value.rstrip(b"\x00")
        if len(text) > 256 or not all(32 <= c < 127 for c in text):
            return None
        return text.decode("ascii")
    if isinstance(value, str):
        return value.rstrip("\x00").strip()
    if isinstance(value, tuple | list):
        items = [_value(v) for v in value]
        return None if any(v is None for v in items) else items
    if isinstance(value, int | bool):
        return value
    try:
        number = float(value)  # IFDRational and friends
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) else None  # NaN (0/0) and infinities are not JSON


def extract_exif(data: bytes) -> dict[str, Any]:
    """The EXIF tags of an encoded image; an empty dict when it has none or cannot be read."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            exif = image.getexif()
    except Exception:
        return {}
    out: dict[str, Any] = {}
    tags = dict(exif)
    with contextlib.suppress(Exception):  # a broken Exif IFD leaves the main tags usable
        tags.update(exif.get_ifd(_EXIF_IFD))
    for tag, raw in tags.items():
        name = ExifTags.TAGS.get(tag)
        if name is None or name in _SKIPPED:
            continue
        value = _value(raw)
        if value is not None:
            out[snake_case(name)] = value
    try:
        gps_ifd = exif.get_ifd(_GPS_IFD)
    except Exception:
        gps_ifd = {}
    gps = {}
    for tag, raw in gps_ifd.items():
        name = ExifTags.GPSTAGS.get(tag)
        value = _value(raw)
        if name is not None and value is not None:
            gps[snake_case(name.removeprefix("GPS"))] = value
    if gps:
        out["gps"] = gps
    return out

"""Decoding input images: formats, base64, EXIF orientation and tags, limits."""

from __future__ import annotations

import base64
import io

import cv2
import numpy as np
import pytest
from PIL import Image

from serve_app.errors import LunaError
from serve_app.http import images
from serve_app.http.exif import extract_exif, snake_case

LIMITS = images.ImageLimits()


def encode(image: np.ndarray, ext: str) -> bytes:
    ok, data = cv2.imencode(ext, image)
    assert ok
    return data.tobytes()


@pytest.mark.parametrize(
    "ext,mimetype",
    [
        (".jpg", "image/jpeg"),
        (".png", "image/png"),
        (".bmp", "image/bmp"),
        (".ppm", "image/x-portable-pixmap"),
        (".tiff", "image/tiff"),
    ],
)
def test_every_documented_format_decodes(photo, ext, mimetype):
    original = photo("astronaut.png")
    data = encode(original, ext)
    assert images.sniff_mimetype(data) == mimetype
    decoded = images.decode(data, mimetype, LIMITS)
    assert decoded.shape == original.shape and decoded.dtype == np.uint8
    # Lossless formats round-trip exactly; JPEG closely.
    assert np.abs(decoded.astype(int) - original.astype(int)).mean() < (
        3 if ext == ".jpg" else 0.01
    )


def test_rgba_and_grey_images_become_three_channel_bgr(photo_bytes):
    decoded = images.decode(photo_bytes("obama_rgba.png"), "image/png", LIMITS)
    assert decoded.shape[2] == 3
    grey = encode(np.full((40, 30), 128, np.uint8), ".png")
    assert images.decode(grey, None, LIMITS).shape == (40, 30, 3)


def test_base64_variants(photo_bytes):
    raw = photo_bytes("astronaut.png")
    for encoded in (
        base64.b64encode(raw),
        base64.urlsafe_b64encode(raw),
        b"data:image/png;base64," + base64.b64encode(raw),
        base64.encodebytes(raw),
    ):  # with line breaks
        data, mimetype = images.unwrap(encoded, "image/x-png-base64")
        assert data == raw and mimetype == "image/png"
    with pytest.raises(LunaError) as caught:
        images.unwrap(b"not base64 at all!", "image/x-png-base64")
    assert caught.value.kind.code == 18001


def test_declared_type_must_match_the_data(photo_bytes):
    with pytest.raises(LunaError) as caught:
        images.decode(photo_bytes("astronaut.png"), "image/jpeg", LIMITS)
    assert caught.value.kind.code == 12025


def test_broken_image_names_the_format(photo_bytes):
    truncated = photo_bytes("group_six.jpg")[:300]
    with pytest.raises(LunaError) as caught:
        images.decode(truncated, "image/jpeg", LIMITS)
    assert caught.value.kind.code == 18002
    assert caught.value.body["detail"] == "Failed convert bytes to jpg"
    with pytest.raises(LunaError) as caught:
        images.decode(b"plain text, no image", None, LIMITS)
    assert caught.value.kind.code == 18002


def test_pixel_bomb_is_refused_before_decoding():
    # 100 megapixels that compress to a few kilobytes.
    buffer = io.BytesIO()
    Image.new("1", (10000, 10000)).save(buffer, "PNG")
    data = buffer.getvalue()
    assert len(data) < 100_000
    with pytest.raises(LunaError) as caught:
        images.decode(data, "image/png", images.ImageLimits(max_pixels=50_000_000))
    assert "10000x10000" in caught.value.body["detail"]
    with pytest.raises(LunaError):
        images.decode(data, "image/png", images.ImageLimits(max_bytes=1024))


def rotated_with_orientation_tag(image: np.ndarray) -> bytes:
    """The photo stored turned 90 degrees, with EXIF orientation 6 to display it upright."""
    stored = cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE)
    pil = Image.fromarray(cv2.cvtColor(stored, cv2.COLOR_BGR2RGB))
    exif = pil.getexif()
    exif[0x0112] = 6
    exif[0x010F] = "Acme"
    exif[0x0110] = "Camera 3000"
    buffer = io.BytesIO()
    pil.save(buffer, "JPEG", exif=exif.tobytes(), quality=95)
    return buffer.getvalue()


def test_exif_orientation_is_applied_unless_disabled(photo):
    original = photo("astronaut.png")
    data = rotated_with_orientation_tag(original)
    upright = images.decode(data, "image/jpeg", LIMITS, use_exif=True)
    assert upright.shape == original.shape
    assert np.abs(upright.astype(int) - original.astype(int)).mean() < 4
    as_stored = images.decode(data, "image/jpeg", LIMITS, use_exif=False)
    assert as_stored.shape == (*original.shape[:2][::-1], 3)


def test_exif_tags_are_reported_in_snake_case(photo):
    tags = extract_exif(rotated_with_orientation_tag(photo("astronaut.png")))
    assert tags == {"orientation": 6, "make": "Acme", "model": "Camera 3000"}
    assert extract_exif(encode(photo("astronaut.png"), ".png")) == {}
    assert snake_case("DateTimeOriginal") == "date_time_original"
    assert snake_case("GPSLatitude") == "gps_latitude"

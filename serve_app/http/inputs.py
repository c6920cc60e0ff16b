"""The images of a request, read from whichever body form the client sent.

Accepted bodies (see docs/input-formats.md):

* one image as the raw body: ``image/jpeg``, ``image/png``, ``image/bmp``,
  ``image/x-portable-pixmap``, ``image/tiff``, or the same base64-encoded with the
  ``image/x-<format>-base64`` types;
* ``multipart/form-data`` with one image per part (the part's filename is kept) and an
  optional JSON part of face bounding boxes per filename;
* ``application/json``: ``{"images": [{"image": <base64>, "mimetype", "filename",
  "face_bounding_boxes"}], "urls": [{"url", "filename", "face_bounding_boxes"}]}``.

A part or item that cannot be read becomes an :class:`ImageInput` carrying its error, so the
other images of the request are still processed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated

import httpx
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from python_multipart.multipart import parse_options_header
from starlette.requests import Request

from models import descriptor_format
from models.face.arcface import Descriptor
from serve_app.errors import (
    BAD_CONTENT_TYPE,
    BAD_INPUT_GENERIC,
    BAD_JSON,
    BODY_TOO_LARGE,
    DESCRIPTOR_VERSION,
    EMPTY_JSON,
    MULTIPART_BAD_CONTENT_TYPE,
    NO_DATA,
    REQUEST_NOT_JSON,
    TOO_MANY_IMAGES,
    LunaError,
)
from serve_app.http.images import BASE64_FORMATS, IMAGE_FORMATS, IMAGE_MIMETYPES, b64decode, unwrap
from serve_app.http.multipart import Part, TooManyParts, parse_multipart
from serve_app.settings import ImageUrlSettings, LimitSettings

RAW_FILENAME = "Raw Image"
BOXES_PART = "face_bounding_boxes"
POLICIES_PART = "policies"
UUID_RE = r"^[a-fA-F0-9]{8}-([a-fA-F0-9]{4}-){3}[a-fA-F0-9]{12}$"


MAX_SIDE = 1_000_000.0
# Each box is a detector run: a handful per image is what clients send (LUNA takes one).
MAX_BOXES_PER_IMAGE = 16


class BoundingBox(BaseModel):
    """A face rectangle the client already knows, in image pixels."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    x: float = Field(ge=-MAX_SIDE, le=MAX_SIDE)
    y: float = Field(ge=-MAX_SIDE, le=MAX_SIDE)
    width: float = Field(gt=0, le=MAX_SIDE)
    height: float = Field(gt=0, le=MAX_SIDE)


Boxes = Annotated[list[BoundingBox], Field(max_length=MAX_BOXES_PER_IMAGE)]


class _JsonImage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image: str = Field(min_length=1)
    mimetype: str | None = None
    filename: str | None = Field(default=None, max_length=512)
    face_bounding_boxes: Boxes | None = None


class _JsonUrl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=4096)
    filename: str | None = Field(default=None, max_length=512)
    face_bounding_boxes: Boxes | None = None


class _JsonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    images: list[_JsonImage] = Field(default_factory=list)
    urls: list[_JsonUrl] = Field(default_factory=list)
    # A dynamic handler's policies, sent with the images they apply to.
    policies: dict | None = None


SampleIds = Annotated[list[Annotated[str, Field(pattern=UUID_RE)]], Field(min_length=1)]


class _BoxesForFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filename: str
    face_bounding_boxes: Boxes


@dataclass
class ImageInput:
    """One input image before decoding: its bytes and declared type, or why it is unusable."""

    filename: str
    data: bytes | None = None
    mimetype: str | None = None
    error: LunaError | None = None
    face_bounding_boxes: Boxes | None = None
    url: str | None = field(default=None, repr=False)
    sample_id: str | None = None


def media_type(request: Request) -> str:
    """The request's media type, lowercase, without parameters."""
    media, _ = parse_options_header(request.headers.get("content-type", ""))
    return media.decode("latin-1").strip().lower()


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing to buffer more than ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise LunaError(BODY_TOO_LARGE, limit)
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > limit:
            raise LunaError(BODY_TOO_LARGE, limit)
    return bytes(chunks)


def parse_json(data: bytes) -> object:
    """Parsed JSON, or LUNA's 12002 for bytes that are not JSON (or nest too deep to parse)."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise LunaError(REQUEST_NOT_JSON) from exc


def validation_error(exc: ValidationError, prefix: str = "") -> LunaError:
    """LUNA's json validation error for the first problem pydantic found, naming its path."""
    first = exc.errors()[0]
    path = ".".join([prefix] * bool(prefix) + [str(part) for part in first["loc"]])
    return LunaError(BAD_JSON, path, first["msg"])


async def read_images(
    request: Request, limits: LimitSettings, urls: ImageUrlSettings
) -> list[ImageInput]:
    """Every image the request carries, in order; policies are not taken here."""
    inputs, policies = await read_images_and_policies(request, limits, urls)
    if policies is not None:
        raise LunaError(BAD_JSON, POLICIES_PART, "policies are taken by dynamic handlers only")
    return inputs


async def read_images_and_policies(
    request: Request, limits: LimitSettings, urls: ImageUrlSettings
) -> tuple[list[ImageInput], object | None]:
    """Every image the request carries, in order, and the policies sent with them (a
    ``policies`` part of a multipart body, or ``policies`` in the JSON body), if any."""
    media = media_type(request)
    if not media:
        raise LunaError(BAD_CONTENT_TYPE)
    if media not in IMAGE_MIMETYPES and media not in ("multipart/form-data", "application/json"):
        raise LunaError(BAD_CONTENT_TYPE)
    body = await read_body(request, limits.max_body_bytes)
    if not body:
        raise LunaError(NO_DATA)
    if media in IMAGE_MIMETYPES:
        return [_single(body, media)], None
    if media == "multipart/form-data":
        return _from_multipart(body, request.headers["content-type"], limits.max_images_per_request)
    return await _from_json(body, limits, urls)


def _single(body: bytes, media: str, filename: str = RAW_FILENAME) -> ImageInput:
    try:
        data, mimetype = unwrap(body, media)
    except LunaError as exc:
        return ImageInput(filename, error=exc)
    return ImageInput(filename, data=data, mimetype=mimetype)


def _from_multipart(
    body: bytes, content_type: str, max_images: int
) -> tuple[list[ImageInput], object | None]:
    # Extra parts are allowed for the bounding boxes and a dynamic handler's policies.
    try:
        parts = parse_multipart(body, content_type, max_parts=max_images + 2)
    except TooManyParts:
        raise LunaError(TOO_MANY_IMAGES, f"more than {max_images}", max_images) from None
    boxes: dict[str, list[BoundingBox]] = {}
    images: list[ImageInput] = []
    policies: object | None = None
    for part in parts:
        if part.name == POLICIES_PART:
            policies = parse_json(bytes(part.data))
            continue
        if part.content_type == "application/json" or part.name == BOXES_PART:
            boxes.update(_boxes_part(part))
            continue
        images.append(_image_part(part))
    if not images:
        raise LunaError(NO_DATA)
    _check_count(len(images), max_images)
    for image in images:
        if image.filename in boxes:
            image.face_bounding_boxes = boxes[image.filename]
    return images, policies


def _image_part(part: Part) -> ImageInput:
    filename = part.filename or part.name or RAW_FILENAME
    declared = part.content_type
    if declared in IMAGE_MIMETYPES:
        return _single(bytes(part.data), declared, filename)
    # Clients that name no type (e.g. requests' files=) send images as plain parts:
    # the bytes say what they are.
    if declared in (None, "application/octet-stream"):
        return ImageInput(filename, data=bytes(part.data), mimetype=None)
    return ImageInput(filename, error=LunaError(MULTIPART_BAD_CONTENT_TYPE, part.name or filename))


def _boxes_part(part: Part) -> dict[str, list[BoundingBox]]:
    raw = parse_json(bytes(part.data))
    try:
        items = [_BoxesForFile.model_validate(item) for item in _as_list(raw)]
    except ValidationError as exc:
        raise validation_error(exc) from exc
    return {item.filename: item.face_bounding_boxes for item in items}


def _as_list(raw: object) -> list:
    return raw if isinstance(raw, list) else [raw]


async def _from_json(
    body: bytes, limits: LimitSettings, urls: ImageUrlSettings
) -> tuple[list[ImageInput], object | None]:
    raw = parse_json(body)
    if raw == {} or raw == []:
        raise LunaError(EMPTY_JSON)
    if isinstance(raw, list):  # stored samples, by id: they are face warps
        try:
            sample_ids = TypeAdapter(SampleIds).validate_python(raw)
        except ValidationError as exc:
            raise validation_error(exc) from exc
        _check_count(len(sample_ids), limits.max_images_per_request)
        return [ImageInput(i.lower(), sample_id=i.lower()) for i in sample_ids], None
    try:
        parsed = _JsonBody.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc) from exc
    _check_count(len(parsed.images) + len(parsed.urls), limits.max_images_per_request)
    if not parsed.images and not parsed.urls:
        raise LunaError(EMPTY_JSON)
    inputs = [_json_image(item) for item in parsed.images]
    if parsed.urls:
        inputs += await fetch_urls(parsed.urls, limits, urls)
    return inputs, parsed.policies


def _json_image(item: _JsonImage) -> ImageInput:
    filename = item.filename or RAW_FILENAME
    mimetype = (item.mimetype or "").lower() or None
    if mimetype is not None and mimetype not in IMAGE_FORMATS and mimetype not in BASE64_FORMATS:
        return ImageInput(filename, error=LunaError(BAD_CONTENT_TYPE))
    result = _single(item.image.encode("ascii", errors="replace"), "image/x-jpeg-base64", filename)
    # The image is base64 in JSON whatever its format; the declared type only names the format.
    result.mimetype = BASE64_FORMATS.get(mimetype or "", mimetype)
    result.face_bounding_boxes = item.face_bounding_boxes
    return result


def _check_count(count: int, limit: int) -> None:
    if count > limit:
        raise LunaError(TOO_MANY_IMAGES, count, limit)


async def fetch_urls(
    items: Sequence[_JsonUrl], limits: LimitSettings, settings: ImageUrlSettings
) -> list[ImageInput]:
    """Download the images a JSON body names by URL, concurrently, each failing alone.

    Each download has ``timeout_s`` in all (a server dripping bytes cannot hold the request),
    and together they may bring no more than ``max_body_bytes``, like a posted body.
    """
    if not settings.enabled:
        raise LunaError(
            BAD_INPUT_GENERIC,
            "images by url are disabled on this service (setting image_urls.enabled)",
        )
    budget = _Budget(limits.max_body_bytes)
    async with httpx.AsyncClient(timeout=settings.timeout_s, follow_redirects=False) as client:

        async def one(item: _JsonUrl) -> ImageInput:
            result = ImageInput(
                item.filename or item.url,
                url=item.url,
                face_bounding_boxes=item.face_bounding_boxes,
            )
            try:
                result.data = await asyncio.wait_for(
                    _download(client, item.url, limits.max_image_bytes, settings, budget),
                    settings.timeout_s,
                )
            except TimeoutError:
                result.error = LunaError(
                    BAD_INPUT_GENERIC, f"{item.url} took longer than {settings.timeout_s} s"
                )
            except LunaError as exc:
                result.error = exc
            return result

        return list(await asyncio.gather(*(one(item) for item in items)))


class _Budget:
    """Bytes the downloads of one request may still bring."""

    def __init__(self, total: int) -> None:
        self.left = total

    def take(self, size: int, url: str) -> None:
        self.left -= size
        if self.left < 0:
            raise LunaError(BAD_INPUT_GENERIC, f"{url}: the request's images exceed the body limit")


def refused_address(address: str) -> str | None:
    """Why an image may not be fetched from ``address`` (None when it is a public one):
    private, loopback, link-local, multicast, reserved or unspecified, also when written as an
    IPv4-mapped IPv6 address."""
    ip = ipaddress.ip_address(address.split("%")[0])  # a scope (fe80::1%eth0) names no host
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind in ("unspecified", "loopback", "link_local", "multicast", "private", "reserved"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    if not ip.is_global:  # e.g. 100.64.0.0/10, carrier-grade NAT
        return "non-public"
    return None


async def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (itself, when it is an address)."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def _public_address(url: httpx.URL, allow_private: bool) -> str:
    """An address of ``url``'s host to connect to, once every address it resolves to is
    checked: one non-public address refuses the URL (unless ``allow_private``), as a host
    could otherwise answer a private address to the connection and a public one to us."""
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        addresses = await resolve(url.host, port)
    except OSError as exc:
        raise LunaError(BAD_INPUT_GENERIC, f"cannot resolve host {url.host!r}: {exc}") from exc
    if not addresses:
        raise LunaError(BAD_INPUT_GENERIC, f"host {url.host!r} has no address")
    if not allow_private:
        for address in addresses:
            if why := refused_address(address):
                raise LunaError(
                    BAD_INPUT_GENERIC,
                    f"host {url.host!r} resolves to a {why} address ({address}); "
                    "set image_urls.allow_private to fetch from it",
                )
    return addresses[0]


async def _download(
    client: httpx.AsyncClient, url: str, limit: int, settings: ImageUrlSettings, budget: _Budget
) -> bytes:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise LunaError(BAD_INPUT_GENERIC, f"invalid url {url!r}: {exc}") from exc
    if parsed.scheme not in ("http", "https"):
        raise LunaError(BAD_INPUT_GENERIC, f"unsupported url scheme in {url!r}")
    if settings.allowed_hosts and parsed.host not in settings.allowed_hosts:
        raise LunaError(BAD_INPUT_GENERIC, f"host {parsed.host!r} is not allowed")
    address = await _public_address(parsed, settings.allow_private)
    # Connect to the address just checked, not to whatever a second lookup returns (DNS
    # rebinding); the server still sees its host name in Host and in TLS (SNI and the
    # certificate check).
    pinned = parsed.copy_with(host=address)
    try:
        async with client.stream(
            "GET",
            pinned,
            headers={"Host": parsed.netloc.decode("ascii")},
            extensions={"sni_hostname": parsed.host},
        ) as response:
            if response.status_code != 200:
                raise LunaError(BAD_INPUT_GENERIC, f"{url} answered {response.status_code}")
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                budget.take(len(chunk), url)
                if len(data) > limit:
                    raise LunaError(BAD_INPUT_GENERIC, f"{url} is larger than {limit} bytes")
            return bytes(data)
    except httpx.HTTPError as exc:
        raise LunaError(BAD_INPUT_GENERIC, f"cannot fetch {url}: {exc}") from exc


SDK_DESCRIPTOR = "application/x-sdk-descriptor"
SDK_DESCRIPTOR_B64 = "application/x-sdk-descriptor-base64"
DESCRIPTOR_TYPES = (SDK_DESCRIPTOR, SDK_DESCRIPTOR_B64)


async def read_descriptor(request: Request, limits: LimitSettings, version: int) -> Descriptor:
    """The SDK descriptor a request sends instead of an image (``application/x-sdk-descriptor``
    or its base64 form), of the configured model's ``version``."""
    body = await read_body(request, limits.max_body_bytes)
    if not body:
        raise LunaError(NO_DATA)
    data = b64decode(body) if media_type(request) == SDK_DESCRIPTOR_B64 else body
    try:
        vector, found = descriptor_format.unpack(data)
    except descriptor_format.DescriptorFormatError as exc:
        raise LunaError(BAD_INPUT_GENERIC, f"bad descriptor: {exc}") from exc
    if found != version:
        raise LunaError(DESCRIPTOR_VERSION, found, f"this service extracts version {version}")
    # A descriptor sent by a client has no quality score of ours; it counts as fully usable.
    return Descriptor(vector, 1.0, found)

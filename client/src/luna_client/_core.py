"""What the sync and async clients share: building a request for a route, and reading its
answer. Neither does I/O, so both clients run the same code around their own transport."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import msgpack
from pydantic import BaseModel, TypeAdapter

from luna_client import models
from luna_client._routes import ROUTES
from luna_client.errors import error_from_response
from luna_client.routes import Route

JSON = "application/json"
MSGPACK = "application/msgpack"
Expect = Literal["json", "bytes", "text", "none", "exists"]
QueryValue = str | int | float | bool | Sequence[str | int] | None

# The image types the service reads as a raw body, by their first bytes.
_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"P6", "image/x-portable-pixmap"),
)


@dataclass(frozen=True)
class ImageFile:
    """An image with its type and, for multipart requests, a file name the service echoes."""

    data: bytes
    mimetype: str | None = None
    filename: str | None = None

    @property
    def content_type(self) -> str:
        """The declared type, else the type its first bytes show, else ``image/jpeg``."""
        return self.mimetype or sniff_mimetype(self.data) or "image/jpeg"


Image = bytes | ImageFile
Images = Image | Sequence[Image]


def sniff_mimetype(data: bytes) -> str | None:
    """The image type ``data`` starts with, if the service reads it."""
    for signature, mimetype in _SIGNATURES:
        if data.startswith(signature):
            return mimetype
    return None


def _image_file(image: Image) -> ImageFile:
    if isinstance(image, ImageFile):
        return image
    if isinstance(image, (bytes, bytearray, memoryview)):
        return ImageFile(bytes(image))
    raise TypeError(f"an image is bytes or ImageFile, not {type(image).__name__}")


def image_list(images: Images) -> list[ImageFile]:
    """``images`` as a list, one image or several."""
    if isinstance(images, (bytes, bytearray, memoryview)):
        return [ImageFile(bytes(images))]
    if isinstance(images, ImageFile):
        return [images]
    files = [_image_file(image) for image in images]
    if not files:
        raise ValueError("no images")
    return files


def b64(data: bytes) -> str:
    """``data`` in base64, as the JSON bodies carry descriptors and images."""
    return base64.b64encode(data).decode("ascii")


def dump(body: Any) -> Any:
    """A request body as JSON data: models by their JSON names, without unset fields (the
    server's defaults apply), mappings and lists converted throughout."""
    if isinstance(body, BaseModel):
        return body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if isinstance(body, Mapping):
        return {key: dump(value) for key, value in body.items()}
    if isinstance(body, (list, tuple)):
        return [dump(value) for value in body]
    return body


@dataclass
class Call:
    """One request to a route, and how to read its answer.

    ``expect``: ``json`` (a LUNA body, parsed as ``model`` when given), ``bytes`` or ``text``
    (a file), ``none`` (no body) or ``exists`` (HEAD: True on success, False on 404).
    """

    route: Route
    path_params: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    content_type: str | None = None
    files: list[tuple[str, tuple[str | None, bytes, str]]] | None = None
    expect: Expect = "json"
    model: Any = None
    follow_redirects: bool = False


def _query_value(value: QueryValue) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"  # LUNA's flags are 0/1
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value)  # LUNA's lists are comma-separated
    return str(value)


def call(
    key: str,
    *,
    path: Mapping[str, str] | None = None,
    query: Mapping[str, QueryValue] | None = None,
    **options: Any,
) -> Call:
    """A :class:`Call` of route ``key`` (``"<METHOD> <path>"``). A query parameter the route
    does not take is a TypeError here rather than a 400 from the service; None values are
    left out."""
    route = ROUTES[key]
    unknown = sorted(set(query or {}) - set(route.query))
    if unknown:
        raise TypeError(f"{key} takes no query parameter {', '.join(unknown)}")
    values = {name: _query_value(v) for name, v in (query or {}).items() if v is not None}
    if options.get("model") is None and options.get("expect", "json") == "json" and route.response:
        options["model"] = getattr(models, route.response)
    return Call(route, dict(path or {}), values, **options)


def image_call(
    key: str,
    images: Images,
    *,
    path: Mapping[str, str] | None = None,
    query: Mapping[str, QueryValue] | None = None,
    parts: Mapping[str, Any] | None = None,
    **options: Any,
) -> Call:
    """A :class:`Call` sending images: one image alone as the raw body with its type, several
    (or any extra JSON ``parts``, e.g. a dynamic handler's ``policies``) as multipart with one
    image a part."""
    files = image_list(images)
    if len(files) == 1 and not parts:
        image = files[0]
        return call(
            key, path=path, query=query, content=image.data, content_type=image.content_type,
            **options,
        )
    multipart: list[tuple[str, tuple[str | None, bytes, str]]] = [
        (
            "image",
            (image.filename or f"image-{i}", image.data, image.content_type),
        )
        for i, image in enumerate(files)
    ]
    for name, value in (parts or {}).items():
        multipart.append((name, (None, json.dumps(dump(value)).encode(), JSON)))
    return call(key, path=path, query=query, files=multipart, **options)


def build_request(
    client: httpx.Client | httpx.AsyncClient, c: Call, accept_msgpack: bool
) -> httpx.Request:
    """The httpx request for ``c`` on ``client`` (built anew for each try, so that a body
    is never a spent stream)."""
    headers: dict[str, str] = {}
    if c.expect == "json" and c.route.json_response:
        headers["Accept"] = MSGPACK if accept_msgpack else JSON
    if c.content_type is not None:
        headers["Content-Type"] = c.content_type
    body: dict[str, Any] = {}
    if c.json is not None:
        body["content"] = json.dumps(dump(c.json)).encode()
        headers["Content-Type"] = JSON
    elif c.content is not None:
        body["content"] = c.content
    elif c.files is not None:
        body["files"] = c.files
    return client.build_request(
        c.route.method,
        c.route.url(**c.path_params),
        params=c.query or None,
        headers=headers,
        **body,
    )


def decode_body(response: httpx.Response) -> Any:
    """A LUNA answer's body: msgpack or JSON by its Content-Type; None when empty."""
    if not response.content:
        return None
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == MSGPACK:
        return msgpack.unpackb(response.content, raw=False)
    return response.json()


def read(c: Call, response: httpx.Response) -> Any:
    """What the client returns for ``response``, or the typed exception it raises."""
    if c.expect == "exists" and response.status_code == 404:
        return False
    if response.status_code >= 400:
        raise error_from_response(response)
    if c.expect == "exists":
        return True
    if c.expect == "none":
        return None
    if c.expect == "bytes":
        return response.content
    if c.expect == "text":
        return response.text
    data = decode_body(response)
    if c.model is None:
        return data
    return _adapter(c.model).validate_python(data)


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(model: Any) -> TypeAdapter[Any]:
    # A TypeAdapter builds a validator; build each once.
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        adapter = _ADAPTERS[model] = TypeAdapter(model)
    return adapter

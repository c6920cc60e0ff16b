"""A multipart/form-data body split into parts, binary-safe.

Starlette's form parser turns parts without a filename into text fields, which mangles an
image sent by a client that names no file; here every part stays bytes with its headers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header

from serve_app.errors import BAD_CONTENT_TYPE, BAD_INPUT_GENERIC, LunaError


class TooManyParts(Exception):
    """More parts than the request may hold; the caller turns it into its limit error."""


@dataclass
class Part:
    """One part: its form name, filename, declared content type and bytes."""

    name: str = ""
    filename: str | None = None
    content_type: str | None = None
    data: bytearray = field(default_factory=bytearray)
    headers: dict[str, str] = field(default_factory=dict)


def parse_multipart(body: bytes, content_type_header: str, max_parts: int) -> list[Part]:
    """Split a multipart body; raises :class:`LunaError` when it is malformed or too long."""
    _, options = parse_options_header(content_type_header)
    boundary = options.get(b"boundary")
    if not boundary:
        # The Content-Type header is what is wrong: LUNA's bad content type, not a size limit.
        raise LunaError(BAD_CONTENT_TYPE)

    parts: list[Part] = []
    header_field = bytearray()
    header_value = bytearray()

    def on_part_begin() -> None:
        if len(parts) >= max_parts:
            raise TooManyParts
        parts.append(Part())

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1].data += data[start:end]

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        key = header_field.decode("latin-1").strip().lower()
        parts[-1].headers[key] = header_value.decode("utf-8", errors="replace").strip()
        header_field.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        part = parts[-1]
        _, disposition = parse_options_header(part.headers.get("content-disposition", ""))
        part.name = disposition.get(b"name", b"").decode("utf-8", errors="replace")
        if b"filename" in disposition:
            part.filename = disposition[b"filename"].decode("utf-8", errors="replace")
        if "content-type" in part.headers:
            media, _ = parse_options_header(part.headers["content-type"])
            part.content_type = media.decode("latin-1").lower() or None

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except TooManyParts:
        raise
    except Exception as exc:
        raise LunaError(BAD_INPUT_GENERIC, f"malformed multipart body: {exc}") from exc
    return parts

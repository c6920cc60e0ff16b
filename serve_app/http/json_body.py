"""JSON request bodies: content type, size, syntax and schema, each with LUNA's error."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request

from serve_app.errors import BAD_CONTENT_TYPE, NO_DATA, LunaError
from serve_app.http.inputs import media_type, parse_json, read_body, validation_error

Model = TypeVar("Model", bound=BaseModel)
JSON_LIMIT = 16 * 1024 * 1024


async def read_json(request: Request) -> Any:
    """The parsed JSON body; the content type must say JSON."""
    if media_type(request) != "application/json":
        raise LunaError(BAD_CONTENT_TYPE)
    body = await read_body(request, JSON_LIMIT)
    if not body:
        raise LunaError(NO_DATA)
    return parse_json(body)


def validate(data: Any, schema: type[Model] | Any, prefix: str = "") -> Any:
    """``data`` validated against a pydantic model or type; 12022 names the bad path."""
    try:
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            return schema.model_validate(data)
        return TypeAdapter(schema).validate_python(data)
    except ValidationError as exc:
        raise validation_error(exc, prefix) from exc


async def read_model(request: Request, schema: type[Model]) -> Model:
    """The JSON body validated against ``schema``."""
    return validate(await read_json(request), schema)

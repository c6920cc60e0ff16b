"""The OpenAPI document, generated from the routes that exist, as YAML or a static HTML page.

The HTML page is self-contained (no JavaScript from a CDN) because the service often runs
where nothing outside can be reached.
"""

from __future__ import annotations

import copy
import html
import json
from typing import Any

import yaml
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, TypeAdapter

from serve_app.http.images import IMAGE_MIMETYPES
from serve_app.http.protocol import ACCOUNT_ID_HEADER, BODY_TYPES, REQUEST_ID_HEADER, STATE_CHANGING
from serve_app.version import COMPATIBLE_HANDLERS, service_version
from serve_app.views import schemas

IMAGE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            "One image as the body (optionally base64 with the image/x-*-base64 types), "
            "multipart/form-data with one image per part, or application/json "
            '{"images": [{"image": base64, "mimetype", "filename", '
            '"face_bounding_boxes"}], "urls": [{"url", "filename", '
            '"face_bounding_boxes"}]}.'
        ),
        "content": {
            **{
                mime: {"schema": {"type": "string", "format": "binary"}} for mime in IMAGE_MIMETYPES
            },
            "multipart/form-data": {"schema": {"type": "object"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}

REQUEST_ID_PARAM = {
    "name": REQUEST_ID_HEADER,
    "in": "header",
    "required": False,
    "description": (
        'External request id. If it is not set or not in the format "timestamp,UUID", '
        "the service sets one. It is returned with the response."
    ),
    "schema": {
        "type": "string",
        "pattern": r"^[0-9]{10},[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$",
        "example": "1536751345,8b8b5937-2e9c-4e8b-a7a7-5caf86621b5a",
    },
}


REF = "#/components/schemas/{model}"
_BODY_SCHEMAS: dict[str, dict[str, Any]] = {}


def json_body(
    schema: type[BaseModel] | Any = None, description: str = "", name: str = ""
) -> dict[str, Any]:
    """``openapi_extra`` for a route reading an ``application/json`` body (read by the route
    itself, so that its errors are LUNA's). ``schema`` is a pydantic model, or any type
    pydantic validates (e.g. ``Annotated[list[Uuid], Field(min_length=1)]``) given a ``name``."""
    content: dict[str, Any] = {}
    if schema is not None:
        name = name or schema.__name__
        _BODY_SCHEMAS[name] = TypeAdapter(schema).json_schema(ref_template=REF)
        content["schema"] = {"$ref": REF.format(model=name)}
    body: dict[str, Any] = {"required": True, "content": {"application/json": content}}
    if description:
        body["description"] = description
    return {"requestBody": body}


def _body_schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for name, schema in _BODY_SCHEMAS.items():
        schema = copy.deepcopy(schema)
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    return schemas


def response_doc(model: str) -> dict[int | str, dict[str, Any]]:
    """The documented responses of a route answering with ``schemas.<model>``."""
    return {
        200: {"model": getattr(schemas, model)},
        400: {"model": schemas.Error, "description": "Bad request"},
        403: {"model": schemas.Error, "description": "Missing account id or estimator"},
    }


ERROR_BODY = {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}
ERRORS = {
    "400": "Bad request: query, headers or body (LUNA error 12012, 12017, 12022, 12031, ...)",
    "403": "Luna-Account-Id missing (11036), or an estimator not licensed here (11055)",
    "404": "An object the request names does not exist",
    "406": "The Accept header admits no type this route answers with (12023)",
    "413": "The request body is larger than the configured limit (12031)",
    "500": "Internal server error (1)",
    "401": "Authentication is on and the request carries no valid credentials (11065)",
    "429": "The account's request rate is over its limit (90001, ours)",
    "503": "The replica works on as many requests as it may; retry later (2)",
}
# Routes every client may call, with or without credentials, never refused by the limits.
OPEN_PATHS = ("/version", "/healthcheck", "/1/healthcheck", "/1/docs")
SECURITY_SCHEMES = {
    "basicAuth": {"type": "http", "scheme": "basic"},
    "bearerAuth": {"type": "http", "scheme": "bearer"},
}


def _errors_of(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    """The error statuses an operation can answer with, from what it takes.

    Every route answers 500 on a crash. A route reading a query, headers or a body answers
    400 on bad ones, and 413 on a body over the limit. A route taking an account answers 403
    without one; estimator routes declare their own 403. A route naming an object (in its
    path or its JSON body) answers 404. A route answering JSON or msgpack, and every state
    change, answers 406 for an Accept admitting neither.
    """
    params = operation.get("parameters", [])
    names = {p["name"] for p in params}
    has_body = "requestBody" in operation
    json_body_ = "application/json" in operation.get("requestBody", {}).get("content", {})
    takes_account = ACCOUNT_ID_HEADER in names or "account_id" in names
    success = [code for code in operation.get("responses", {}) if code.startswith("2")]
    answers_body_types = any(
        media in BODY_TYPES
        for code in success
        for media in operation["responses"][code].get("content", {})
    )
    errors = ["500"]
    if has_body or takes_account or any(p["in"] == "query" for p in params):
        errors.append("400")
    if takes_account:
        errors.append("403")
    if "{" in path or json_body_:
        errors.append("404")
    if answers_body_types or method.upper() in STATE_CHANGING:
        errors.append("406")
    if has_body:
        errors.append("413")
    if not path.startswith(OPEN_PATHS):
        errors += ["401", "429", "503"]
    return errors


def _add_errors(path: str, method: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    for code in _errors_of(path, method, operation):
        response = responses.setdefault(code, {"description": ERRORS[code]})
        # HEAD answers carry no body, whatever the status.
        if method != "head":
            response.setdefault("content", copy.deepcopy(ERROR_BODY))


def build_spec(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of ``app``'s routes, with LUNA's headers and error bodies."""
    major, minor, patch = COMPATIBLE_HANDLERS
    spec = get_openapi(
        title="Luna-Handlers",
        version=f"v.{major}.{minor}.{patch}",
        description=(
            "LUNA Handlers REST API served by luna-serve "
            f"{service_version()} on Ray Serve. Errors are "
            "{error_code, desc, detail, link}."
        ),
        routes=app.routes,
    )
    for path, path_item in spec.get("paths", {}).items():
        for method, operation in path_item.items():
            params = operation.setdefault("parameters", [])
            if not any(p.get("name") == REQUEST_ID_HEADER for p in params):
                params.append(copy.deepcopy(REQUEST_ID_PARAM))
            responses = operation.setdefault("responses", {})
            # Validation failures answer with LUNA errors (400), never FastAPI's 422.
            responses.pop("422", None)
            _add_errors(path, method, operation)
            operation["responses"] = responses = dict(sorted(responses.items()))
            for response in responses.values():
                response.setdefault("headers", {})[REQUEST_ID_HEADER] = {
                    "description": "The request id",
                    "schema": {"type": "string"},
                }
    schemas_ = spec.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas_.pop(name, None)
    schemas_.update(_body_schemas())
    schemas_.setdefault("Error", schemas.Error.model_json_schema(ref_template=REF))
    # Credentials are optional while authentication is off (docs/auth.md): {} admits none.
    spec["components"]["securitySchemes"] = SECURITY_SCHEMES
    spec["security"] = [{}, {"basicAuth": []}, {"bearerAuth": []}]
    return spec


def spec_yaml(spec: dict[str, Any]) -> str:
    """The document as YAML."""
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)


def spec_html(spec: dict[str, Any]) -> str:
    """The document as one static HTML page."""
    e = html.escape
    info = spec.get("info", {})
    out = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{e(info.get('title', 'API'))} {e(info.get('version', ''))}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto;padding:1em}"
        "h2{border-bottom:1px solid #ccc}code,pre{background:#f4f4f4}"
        "table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2em .5em}"
        ".m{font-weight:bold;text-transform:uppercase}</style></head><body>",
        f"<h1>{e(info.get('title', 'API'))} {e(info.get('version', ''))}</h1>",
        f"<p>{e(info.get('description', ''))}</p>",
    ]
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            out.append(f"<h2><span class='m'>{e(method)}</span> <code>{e(path)}</code></h2>")
            out.append(f"<p><b>{e(op.get('summary', ''))}</b> {e(op.get('description', ''))}</p>")
            params = op.get("parameters", [])
            if params:
                out.append(
                    "<table><tr><th>name</th><th>in</th><th>required</th><th>schema</th></tr>"
                )
                for p in params:
                    schema = json.dumps(p.get("schema", {}))
                    out.append(
                        f"<tr><td>{e(p['name'])}</td><td>{e(p['in'])}</td>"
                        f"<td>{p.get('required', False)}</td><td><code>{e(schema)}</code></td></tr>"
                    )
                out.append("</table>")
            body = op.get("requestBody")
            if body:
                types = ", ".join(body.get("content", {}))
                out.append(f"<p>Request body: {e(types)}</p>")
            codes = ", ".join(op.get("responses", {}))
            out.append(f"<p>Responses: {e(codes)}</p>")
    components = spec.get("components", {}).get("schemas", {})
    if components:
        out.append("<h2>Schemas</h2>")
        for name, schema in components.items():
            out.append(
                f"<h3 id='{e(name)}'>{e(name)}</h3><pre>{e(json.dumps(schema, indent=2))}</pre>"
            )
    out.append("</body></html>")
    return "\n".join(out)

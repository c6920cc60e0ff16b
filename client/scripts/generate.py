"""Regenerate the client's spec-derived files from the served OpenAPI document.

Writes, under ``client/src/luna_client/``:

* ``openapi.snapshot.json``: the document as the client sees it (routes, parameters, body
  and response types, schemas), without prose, so that only changes a client notices count;
* ``models.py``: one pydantic model per schema of the document;
* ``_routes.py``: one :class:`luna_client.routes.Route` per operation;
* ``_async_api.py``: the async operations, rewritten from the sync ones in ``_api.py`` so
  that each operation is written once.

The document comes from the app built in-process (the default; needs the server's
environment) or from a running service (``--url http://127.0.0.1:5090``). ``--check`` writes
nothing and exits 1 when a file would change: the client has drifted from the server.

    .venv/bin/python client/scripts/generate.py [--url URL] [--check]
"""

from __future__ import annotations

import argparse
import json
import keyword
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "luna_client"
SNAPSHOT = PACKAGE / "openapi.snapshot.json"
MODELS = PACKAGE / "models.py"
ROUTES = PACKAGE / "_routes.py"
SYNC_API = PACKAGE / "_api.py"
ASYNC_API = PACKAGE / "_async_api.py"
REPO = Path(__file__).resolve().parents[2]

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
# Prose and generated names: they change without changing what a client sends or reads.
PROSE_KEYS = frozenset({"description", "title", "summary", "examples", "example", "operationId"})
BODY_TYPES = ("application/json", "application/msgpack")
REF_PREFIX = "#/components/schemas/"
GENERATED = "# Generated from the served OpenAPI document by client/scripts/generate.py."


# The document --------------------------------------------------------------------------


def spec_in_process() -> dict[str, Any]:
    """The document of the server's app, built in this process from the shipped
    ``serve_config.yaml`` (no models are loaded, no Ray is started)."""
    sys.path.insert(0, str(REPO))
    from models.provision import app_args
    from serve_app.app import create_app
    from serve_app.estimators import Estimators
    from serve_app.http.openapi_docs import build_spec
    from serve_app.services import Services
    from serve_app.settings import Settings

    args = {**app_args(REPO / "serve_config.yaml")[0], "data_dir": tempfile.mkdtemp()}
    settings = Settings.from_args(args, environ={})
    return build_spec(create_app(Services(settings, Estimators(settings))))


def spec_from_url(url: str) -> dict[str, Any]:
    """The document a running service serves at ``/1/docs/spec`` (YAML)."""
    import httpx
    import yaml

    response = httpx.get(url.rstrip("/") + "/1/docs/spec", timeout=30)
    response.raise_for_status()
    return yaml.safe_load(response.text)


def _strip_prose(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _strip_prose(item)
            for key, item in value.items()
            # Under "properties" the keys are field names, never prose.
            if key not in PROSE_KEYS or not isinstance(item, (str, list))
        }
    if isinstance(value, list):
        return [_strip_prose(item) for item in value]
    return value


def normalize(spec: dict[str, Any]) -> dict[str, Any]:
    """What of the document a client depends on: per operation its parameters, request
    media types and body schema, and its success statuses with their media types and
    schemas; every component schema. Prose, error answers (every route has the same LUNA
    error body) and the service version are left out."""
    paths: dict[str, Any] = {}
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            parameters = sorted(
                (
                    {
                        "name": p["name"],
                        "in": p["in"],
                        "required": bool(p.get("required", False)),
                        "schema": p.get("schema", {}),
                    }
                    for p in operation.get("parameters", [])
                ),
                key=lambda p: (p["in"], p["name"]),
            )
            body = operation.get("requestBody", {}).get("content", {})
            responses = {
                code: {
                    media: content.get("schema", {})
                    for media, content in response.get("content", {}).items()
                }
                for code, response in operation.get("responses", {}).items()
                if str(code).startswith("2")
            }
            paths[f"{method.upper()} {path}"] = {
                "parameters": parameters,
                "body": {media: content.get("schema", {}) for media, content in body.items()},
                "responses": responses,
            }
    schemas = spec.get("components", {}).get("schemas", {})
    return _strip_prose({"paths": paths, "schemas": schemas})


def snapshot_text(spec: dict[str, Any]) -> str:
    """The snapshot file's text for ``spec``."""
    return json.dumps(normalize(spec), indent=1, sort_keys=True) + "\n"


def describe_drift(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What changed between two normalized documents, one line a change: routes added or
    removed or changed, schemas added or removed, fields added, removed or changed."""
    lines = []
    old_paths, new_paths = old.get("paths", {}), new.get("paths", {})
    lines += [f"route served, not in the client: {k}" for k in sorted(new_paths.keys() - old_paths)]
    lines += [f"route in the client, not served: {k}" for k in sorted(old_paths.keys() - new_paths)]
    for key in sorted(old_paths.keys() & new_paths.keys()):
        for part in ("parameters", "body", "responses"):
            if old_paths[key][part] != new_paths[key][part]:
                lines.append(f"route {key}: {part} changed")
    before_all, after_all = old.get("schemas", {}), new.get("schemas", {})
    lines += [f"schema served, not in client: {n}" for n in sorted(after_all.keys() - before_all)]
    lines += [f"schema in client, not served: {n}" for n in sorted(before_all.keys() - after_all)]
    for name in sorted(before_all.keys() & after_all.keys()):
        before, after = before_all[name], after_all[name]
        if before == after:
            continue
        props_before, props_after = before.get("properties", {}), after.get("properties", {})
        common = props_before.keys() & props_after.keys()
        changed = [f"+{f}" for f in props_after.keys() - props_before.keys()]
        changed += [f"-{f}" for f in props_before.keys() - props_after.keys()]
        changed += [f"~{f}" for f in common if props_before[f] != props_after[f]]
        if before.get("required") != after.get("required"):
            changed.append("required")
        lines.append(f"schema {name}: {', '.join(sorted(changed)) or 'changed'}")
    return lines


# Models --------------------------------------------------------------------------------

RESERVED = frozenset({"model_config", "model_fields", "copy", "dict", "json", "schema", "fields"})


def _field_name(name: str) -> str:
    """A Python attribute for the JSON name ``name`` (aliased when they differ)."""
    safe = re.sub(r"\W", "_", name)
    if not safe or safe[0].isdigit():
        safe = "_" + safe
    if keyword.iskeyword(safe) or safe in RESERVED or safe.startswith(("model_", "_")):
        safe = safe.lstrip("_") + "_"
    return safe


def py(value: Any) -> str:
    """``value`` (JSON data, or a tuple) as a Python literal, strings in double quotes."""
    if isinstance(value, str):
        return json.dumps(value)  # JSON's string escapes are Python's too
    if isinstance(value, tuple):
        inner = ", ".join(py(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(py(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py(k)}: {py(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _literal(values: list[Any]) -> str:
    return "Literal[" + ", ".join(py(v) for v in values) + "]"


def type_of(schema: dict[str, Any]) -> str:
    """The Python annotation for a JSON schema."""
    if "$ref" in schema:
        return schema["$ref"].removeprefix(REF_PREFIX)
    if "const" in schema:
        return _literal([schema["const"]])
    if "enum" in schema:
        return _literal(schema["enum"])
    for combined in ("anyOf", "oneOf"):
        if combined in schema:
            return _union([type_of(option) for option in schema[combined]])
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return type_of(schema["allOf"][0])
    kind = schema.get("type")
    if isinstance(kind, list):
        return _union([type_of({**schema, "type": k}) for k in kind])
    if kind == "string":
        return "str"
    if kind == "integer":
        return "int"
    if kind == "number":
        return "float"
    if kind == "boolean":
        return "bool"
    if kind == "null":
        return "None"
    if kind == "array":
        items = schema.get("items")
        return f"list[{type_of(items) if items else 'Any'}]"
    if kind == "object":
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra and not schema.get("properties"):
            return f"dict[str, {type_of(extra)}]"
        return "dict[str, Any]"
    return "Any"


def _union(types: list[str]) -> str:
    unique = list(dict.fromkeys(types))
    if "Any" in unique:
        return "Any"
    # None last reads as "optional".
    unique.sort(key=lambda t: t == "None")
    return " | ".join(unique)


def _model(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"class {name}(LunaModel):", f'    """``{name}`` of the served document."""', ""]
    required = set(schema.get("required", []))
    properties = schema.get("properties", {})
    if not properties:
        lines.append("    pass")
    for json_name, prop in properties.items():
        attr = _field_name(json_name)
        annotation = type_of(prop)
        options: list[str] = []
        if attr != json_name:
            options.append(f"alias={py(json_name)}")
        if json_name not in required:
            default = prop.get("default")
            if default is None and "None" not in annotation.split(" | "):
                annotation = _union([annotation, "None"])
            options.insert(0, f"default={py(default)}")
        if options:
            lines.append(f"    {attr}: {annotation} = Field({', '.join(options)})")
        else:
            lines.append(f"    {attr}: {annotation}")
    return [*lines, "", ""]


def render_models(spec: dict[str, Any]) -> str:
    """``models.py`` for ``spec``: a model per object schema, an alias per other schema."""
    schemas = spec.get("components", {}).get("schemas", {})
    classes: list[str] = []
    aliases: list[str] = []
    names = sorted(schemas)
    models = [n for n in names if schemas[n].get("type") == "object" and "properties" in schemas[n]]
    for name in names:
        schema = schemas[name]
        if name in models:
            classes += _model(name, schema)
        else:
            aliases.append(f"{name} = {type_of(schema)}")
    head = [
        GENERATED,
        "# ruff: noqa: E501  (long enum literals read better on one line)",
        '"""Pydantic models of every schema of the served OpenAPI document.',
        "",
        "Extra fields are kept (``extra='allow'``) so that a newer server does not break an",
        'older client; fields the document names are typed."""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import Any, Literal",
        "",
        "from pydantic import BaseModel, ConfigDict, Field",
        "",
        "",
        "class LunaModel(BaseModel):",
        '    """Base of every model: JSON names as aliases, extra fields kept."""',
        "",
        '    model_config = ConfigDict(extra="allow", populate_by_name=True)',
        "",
        "",
    ]
    tail = [
        *aliases,
        "",
        f"MODELS: dict[str, type[LunaModel]] = {{{', '.join(f'{py(n)}: {n}' for n in models)}}}",
        "",
        "for _model in MODELS.values():",
        "    _model.model_rebuild()",
        "",
    ]
    text = "\n".join(head + classes).rstrip("\n") + "\n\n\n" + "\n".join(tail)
    return _wrap_long_lines(text)


def _wrap_long_lines(text: str) -> str:
    # The MODELS table is one long line; one entry a line keeps it under the line limit.
    out = []
    for line in text.splitlines():
        if line.startswith("MODELS: dict") and len(line) > 100:
            head, _, rest = line.partition("{")
            out.append(head + "{")
            out += [f"    {entry.strip()}," for entry in rest.rstrip("}").split(",")]
            out.append("}")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


# Routes --------------------------------------------------------------------------------


def routes_of(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per operation: what :class:`luna_client.routes.Route` holds."""
    rows = []
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            params = operation.get("parameters", [])
            body = operation.get("requestBody", {}).get("content", {})
            json_schema = body.get("application/json", {}).get("schema", {})
            success = sorted(
                int(code) for code in operation.get("responses", {}) if str(code).startswith("2")
            )
            contents = [
                operation["responses"][str(code)].get("content", {}) for code in success
            ]
            json_response = any(media in BODY_TYPES for c in contents for media in c)
            refs = [
                c[media]["schema"]["$ref"]
                for c in contents
                for media in c
                if "$ref" in c[media].get("schema", {})
            ]
            rows.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "query": tuple(p["name"] for p in params if p["in"] == "query"),
                    "account_header": any(
                        p["in"] == "header" and p["name"] == "Luna-Account-Id" for p in params
                    ),
                    "body_types": tuple(body),
                    "body_schema": (
                        json_schema["$ref"].removeprefix(REF_PREFIX)
                        if "$ref" in json_schema
                        else None
                    ),
                    "success": tuple(success),
                    "json_response": json_response,
                    "response": refs[0].removeprefix(REF_PREFIX) if refs else None,
                }
            )
    return rows


def render_routes(spec: dict[str, Any]) -> str:
    """``_routes.py`` for ``spec``."""
    lines = [
        GENERATED,
        '"""Every operation of the served OpenAPI document, by ``"<METHOD> <path>"``."""',
        "",
        "from __future__ import annotations",
        "",
        "from luna_client.routes import Route",
        "",
        "ROUTES: dict[str, Route] = {",
    ]
    for row in routes_of(spec):
        lines.append(f"    {py(row['method'] + ' ' + row['path'])}: Route(")
        for key, value in row.items():
            lines.append(f"        {key}={py(value)},")
        lines.append("    ),")
    lines += ["}", ""]
    return "\n".join(_wrap_tuple_lines(lines))


def _wrap_tuple_lines(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        if len(line) <= 100:
            out.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        key, _, value = line.strip().partition("=")
        items = [item.strip() for item in value.strip("(),").split(",") if item.strip()]
        out.append(f"{indent}{key}=(")
        out += [f"{indent}    {item}," for item in items]
        out.append(f"{indent}),")
    return out


# Async operations ----------------------------------------------------------------------


def render_async(sync_source: str) -> str:
    """``_async_api.py`` from ``_api.py``: every method ``async``, every send awaited."""
    text = sync_source
    text = text.replace('"""The operations', '"""The async operations', 1)
    text = text.replace("class SyncOperations", "class AsyncOperations")
    text = re.sub(r"(?m)^    def ", "    async def ", text)
    text = text.replace("return self._send(", "return await self._send(")
    text = text.replace("= self._send(", "= await self._send(")
    return GENERATED + "\n" + text


# Writing -------------------------------------------------------------------------------


def outputs(spec: dict[str, Any]) -> dict[Path, str]:
    """Every generated file and its text for ``spec``."""
    return {
        SNAPSHOT: snapshot_text(spec),
        MODELS: render_models(spec),
        ROUTES: render_routes(spec),
        ASYNC_API: render_async(SYNC_API.read_text()),
    }


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check``, compare) the generated files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running service; default: the app built in-process")
    parser.add_argument("--check", action="store_true", help="exit 1 if any file would change")
    args = parser.parse_args(argv)
    spec = spec_from_url(args.url) if args.url else spec_in_process()
    if SNAPSHOT.exists():
        for line in describe_drift(json.loads(SNAPSHOT.read_text()), normalize(spec)):
            print(line)
    changed = []
    for path, text in outputs(spec).items():
        if path.exists() and path.read_text() == text:
            continue
        changed.append(path)
        if not args.check:
            path.write_text(text)
    for path in changed:
        print(f"{'differs' if args.check else 'wrote'}: {path.relative_to(REPO)}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())

"""The client's side of the contract: the generator (client/scripts/generate.py) loaded as a
module, and what the client's operations call, read from their source."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import re
from pathlib import Path
from types import ModuleType

import luna_client._api

ROUTE_KEY = re.compile(r"^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) /\S*$")
GENERATOR = Path(__file__).resolve().parents[2] / "client" / "scripts" / "generate.py"


def load_generator() -> ModuleType:
    """``client/scripts/generate.py`` as a module."""
    spec = importlib.util.spec_from_file_location("luna_client_generate", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def called_routes() -> dict[str, list[dict[str, bool]]]:
    """Each route key the operations send to, with, per call, whether it names its own
    ``model=`` (read from ``_api.py``'s source: calls of ``call``/``image_call``)."""
    tree = ast.parse(inspect.getsource(luna_client._api))
    found: dict[str, list[dict[str, bool]]] = {}
    for node in ast.walk(tree):
        is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
        if is_text and ROUTE_KEY.match(node.value):
            found.setdefault(node.value, [])
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("call", "image_call"):
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant):
                own_model = any(k.arg == "model" for k in node.keywords)
                found.setdefault(first.value, []).append({"model": own_model})
    return found

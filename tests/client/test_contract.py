"""The client against the document the server serves: a route the server has and the client
lacks, a schema or field that differs, or generated code out of date fails here.

The document is built from the app in-process (no models, no Ray); tests/e2e/test_client.py
checks the same against a running service's ``GET /1/docs/spec``. After a server change,
``.venv/bin/python client/scripts/generate.py`` brings the client up to date.
"""

from __future__ import annotations

import copy
import inspect
import json

import luna_client
import pytest
from luna_client import models
from luna_client._routes import ROUTES

from tests.client.contract import called_routes, load_generator

generate = load_generator()


@pytest.fixture(scope="module")
def served_spec() -> dict:
    return generate.spec_in_process()


def test_snapshot_is_the_served_document(served_spec):
    snapshot = json.loads(generate.SNAPSHOT.read_text())
    drift = generate.describe_drift(snapshot, generate.normalize(served_spec))
    assert not drift, "the client drifted from the server; run client/scripts/generate.py:\n" + "\n".join(drift)
    assert generate.SNAPSHOT.read_text() == generate.snapshot_text(served_spec)


def test_generated_code_is_up_to_date(served_spec):
    stale = [
        str(path.relative_to(generate.REPO))
        for path, text in generate.outputs(served_spec).items()
        if path.read_text() != text
    ]
    assert not stale, f"run client/scripts/generate.py: {stale} differ from the served document"


def test_every_served_route_has_an_operation_and_no_other(served_spec):
    served = {f"{m.upper()} {p}" for p, item in served_spec["paths"].items() for m in item}
    called = set(called_routes())
    assert served == set(ROUTES)
    assert not served - called, f"routes without a client method: {sorted(served - called)}"
    assert not called - served, f"client methods for routes not served: {sorted(called - served)}"


def test_routes_with_a_documented_answer_use_its_model():
    # The document names the schema of these answers: the client must parse with it.
    for key, calls in called_routes().items():
        if ROUTES[key].response is not None:
            assert not any(c["model"] for c in calls), f"{key} overrides {ROUTES[key].response}"


def test_models_have_the_documented_fields(served_spec):
    for name, schema in served_spec["components"]["schemas"].items():
        if "properties" not in schema:
            assert hasattr(models, name), name
            continue
        model = models.MODELS[name]
        fields = {(f.alias or attr): f for attr, f in model.model_fields.items()}
        assert set(fields) == set(schema["properties"]), name
        required = {alias for alias, f in fields.items() if f.is_required()}
        assert required == set(schema.get("required", [])), name


def test_sync_and_async_clients_offer_the_same_operations():
    def operations(cls):
        return {
            name: inspect.signature(member)
            for name, member in inspect.getmembers(cls, inspect.isfunction)
            if not name.startswith("_") and name not in ("close", "aclose")
        }

    sync, asynchronous = operations(luna_client.LunaClient), operations(luna_client.AsyncLunaClient)
    assert sync.keys() == asynchronous.keys()
    for name, signature in sync.items():
        assert str(signature) == str(asynchronous[name]), name
        assert inspect.iscoroutinefunction(getattr(luna_client.AsyncLunaClient, name)), name


# The checks above fail on drift: shown on documents changed the way a server change would.


def _drifted(spec: dict, change) -> list[str]:
    changed = copy.deepcopy(spec)
    change(changed)
    return generate.describe_drift(generate.normalize(spec), generate.normalize(changed))


def test_a_new_route_is_drift(served_spec):
    def add_route(spec):
        spec["paths"]["/1/things"] = {"get": {"responses": {"200": {"description": "ok"}}}}

    assert _drifted(served_spec, add_route) == ["route served, not in the client: GET /1/things"]
    changed = copy.deepcopy(served_spec)
    add_route(changed)
    assert generate.render_routes(changed) != generate.ROUTES.read_text()


def test_a_changed_field_is_drift(served_spec):
    def rename_field(spec):
        rect = spec["components"]["schemas"]["Rect"]
        rect["properties"]["w"] = rect["properties"].pop("width")
        rect["required"] = ["x", "y", "w", "height"]

    assert _drifted(served_spec, rename_field) == ["schema Rect: +w, -width, required"]
    changed = copy.deepcopy(served_spec)
    rename_field(changed)
    assert generate.render_models(changed) != generate.MODELS.read_text()


def test_a_new_query_parameter_is_drift(served_spec):
    def add_parameter(spec):
        spec["paths"]["/1/detector"]["post"]["parameters"].append(
            {"name": "estimate_age", "in": "query", "schema": {"type": "integer"}}
        )

    assert _drifted(served_spec, add_parameter) == ["route POST /1/detector: parameters changed"]


def test_prose_is_not_drift(served_spec):
    def reword(spec):
        spec["info"]["description"] = "another release"
        spec["components"]["schemas"]["Rect"]["description"] = "reworded"
        spec["paths"]["/1/detector"]["post"]["summary"] = "reworded"

    assert _drifted(served_spec, reword) == []

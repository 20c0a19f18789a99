"""The OpenAPI document: valid OpenAPI 3.1, every route described, every path a route."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from api import create_app, runtime_of
from api.openapi import document
from api.openapi_schemas import components_from
from contract import Alert, Prediction
from contract.payloads import PREDICTION_STATUSES
from contract.schemas import payload_schemas, profile_format_schema
from tests.support.api import test_config

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    built = create_app(test_config(f"sqlite:///{tmp_path / 'api.db'}"))
    yield built
    runtime_of(built).stop()


def _flask_routes(app: Flask) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        routes |= {(path, method.lower()) for method in rule.methods or () if method.lower() in HTTP_METHODS}
    return routes


def _documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, item in doc["paths"].items() for method in item if method in HTTP_METHODS}


def test_every_route_is_documented_and_every_documented_path_is_a_route(app: Flask) -> None:
    served = app.test_client().get("/api/openapi.json").get_json()
    assert isinstance(served, dict)
    assert _flask_routes(app) == _documented(served)
    assert len(_documented(served)) >= 12


def test_path_parameters_match_the_templates() -> None:
    for path, item in document()["paths"].items():
        for operation in item.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), path


def test_every_reference_resolves() -> None:
    doc = document()

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    refs = set(walk(doc))
    assert refs
    for ref in refs:
        target: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        assert isinstance(target, dict), ref


def test_payload_schemas_are_the_contracts_own() -> None:
    schemas = document()["components"]["schemas"]
    contract = payload_schemas()
    assert list(schemas["Prediction"]["properties"]) == [f.name for f in fields(Prediction)]
    assert schemas["Prediction"]["properties"] == contract["Prediction"]["properties"]
    assert list(schemas["Alert"]["properties"]) == [f.name for f in fields(Alert)]
    assert set(schemas["AlertView"]["allOf"][1]["properties"]) == {"acked_by", "acked_at"}
    assert list(schemas["Profile"]["properties"]) == list(profile_format_schema()["properties"])
    assert "#/$defs/" not in json.dumps(document())  # every reference points into components
    assert "SensorField" in schemas  # the profile format's definitions, hoisted into components
    assert schemas["HistoryPoint"]["properties"]["status"]["enum"] == list(PREDICTION_STATUSES)


def test_components_hoist_definitions_and_refuse_a_clash() -> None:
    named = {"A": {"$defs": {"X": {"type": "string"}}, "properties": {"x": {"$ref": "#/$defs/X"}}}}
    assert components_from(named) == {
        "X": {"type": "string"},
        "A": {"properties": {"x": {"$ref": "#/components/schemas/X"}}},
    }
    with pytest.raises(ValueError, match="'X'"):
        components_from({**named, "B": {"$defs": {"X": {"type": "number"}}}})


def test_the_document_is_valid_openapi_3_1() -> None:
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    definitions = pytest.importorskip("schemathesis.specs.openapi.definitions")
    validator = jsonschema_rs.validator_for(definitions.OPENAPI_31)
    errors = [str(error) for error in validator.iter_errors(document())]
    assert errors == []
    assert document()["openapi"] == "3.1.0"


def test_the_document_is_invalid_when_broken() -> None:
    """The validity check above can fail: a document without responses is refused."""
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    definitions = pytest.importorskip("schemathesis.specs.openapi.definitions")
    broken = document()
    del broken["paths"]["/api/machines"]["get"]["responses"]
    broken["info"].pop("title")
    assert not jsonschema_rs.validator_for(definitions.OPENAPI_31).is_valid(broken)

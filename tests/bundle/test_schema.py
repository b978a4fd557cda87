"""The manifest's JSON Schema files: valid Draft 2020-12, every key described, and what the
writer publishes conforms to them (checked with jsonschema directly, not through our messages)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from bundle import layout, migrations
from bundle.manifest import FORMATS, manifest_problems, schema
from tests.bundle.tiny import write_tiny_bundle


def _properties(node: Any, path: str = "") -> Iterator[tuple[str, dict]]:
    if not isinstance(node, dict):
        return
    for key, child in node.get("properties", {}).items():
        yield f"{path}.{key}", child
        yield from _properties(child, f"{path}.{key}")
    for key in ("additionalProperties", "items"):
        if isinstance(node.get(key), dict):
            yield f"{path}.<{key}>", node[key]
            yield from _properties(node[key], f"{path}.<{key}>")


@pytest.mark.parametrize("version", migrations.READABLE)
def test_each_schema_is_valid_and_describes_every_key(version):
    definition = schema(version)
    Draft202012Validator.check_schema(definition)
    assert definition["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    undescribed = [path for path, node in _properties(definition) if not node.get("description")]
    assert undescribed == []


def _validate(manifest: dict) -> None:
    Draft202012Validator(schema(layout.SCHEMA_VERSION), format_checker=FORMATS).validate(manifest)


def test_a_freshly_written_bundle_conforms_to_the_schema(tmp_path):
    bundle = write_tiny_bundle(tmp_path)
    on_disk = json.loads((bundle.path / layout.MANIFEST).read_text())
    _validate(on_disk)
    assert on_disk["schema_version"] == layout.SCHEMA_VERSION
    assert on_disk["models"]["lin"]["parity"]["max_abs_margin"] == 0.0


def test_the_schema_refuses_what_the_validator_must_catch(tmp_path):
    on_disk = json.loads((write_tiny_bundle(tmp_path).path / layout.MANIFEST).read_text())
    on_disk["models"]["lin"]["shap"]["base_value"] = float("nan")
    assert not Draft202012Validator(schema(), format_checker=FORMATS).is_valid(on_disk)
    assert manifest_problems(on_disk) == ["'models.lin.shap.base_value' should be a finite number"]


def test_the_trained_bundle_conforms_to_the_schema(telco_bundle):
    on_disk = json.loads((telco_bundle.path / layout.MANIFEST).read_text())
    _validate(on_disk)
    parity = [model["parity"] for model in on_disk["models"].values()]
    # Measured at publish, never the migration marker.
    assert all(isinstance(p["max_abs_margin"], float) and p["rows"] > 0 for p in parity)

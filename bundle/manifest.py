"""The manifest: what a bundle holds, how it was made, and a checksum per file.

Its shape is defined once, per schema version, by the JSON Schema files in
`bundle/schema/` (`manifest.v<N>.json`, Draft 2020-12, with a description of every
key); `artifacts/README.md`'s manifest section is generated from them (`python -m
bundle.docs`). This module validates a manifest against them and turns the
validator's findings into sentences a user can read, each naming the key's path.
What a JSON Schema can't say (the champion is one of the models, feature names are
unique, ...) is checked in `_meaning_problems`, the one place for such rules.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterator
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError

from bundle import layout

# Only the formats defined here are asserted ("finite": NaN and infinities parse from JSON
# and pass `"type": "number"`, but mean nothing in a manifest).
FORMATS = FormatChecker(formats=())


@FORMATS.checks("finite")
def _is_finite(value: object) -> bool:
    return not isinstance(value, float) or math.isfinite(value)


def schema(version: int = layout.SCHEMA_VERSION) -> dict[str, Any]:
    """The JSON Schema of manifests of `version` (package data, `bundle/schema/`)."""
    text = resources.files("bundle").joinpath(f"schema/manifest.v{version}.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@functools.cache
def _validator(version: int) -> Draft202012Validator:
    definition = schema(version)
    Draft202012Validator.check_schema(definition)
    return Draft202012Validator(definition, format_checker=FORMATS)


def manifest_problems(manifest: Any, version: int = layout.SCHEMA_VERSION) -> list[str]:
    """Every way `manifest` breaks the contract of schema `version`, as readable sentences.

    Deep enough that code reading a manifest that passed needs no guards of its own:
    every key it relies on exists with the right type. The semantic rules run only once
    the shape is right (they rely on it).
    """
    sentences = list(dict.fromkeys(s for error in _validator(version).iter_errors(manifest) for s in _sentences(error)))
    return sentences or _meaning_problems(manifest)


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_TYPE_WORDS = {
    "object": "a dict",
    "array": "a list",
    "string": "a str",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def where(path: Any) -> str:
    """A JSON path as the user reads it: models.lin.threshold, encoding[0].fill,
    files["customers.parquet"].bytes (keys that aren't plain words in brackets)."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not _WORD.fullmatch(part):
            text += f'["{part}"]'
        else:
            text += f".{part}" if text else str(part)
    return text


def _sentences(error: ValidationError) -> Iterator[str]:
    at = where(error.absolute_path)
    subject = f"'{at}'" if at else "the manifest"
    problem = error.schema.get("x-problem") if isinstance(error.schema, dict) else None
    if "propertyNames" in error.absolute_schema_path:
        # The failing instance is the key itself; the path is the object holding it.
        yield f"{error.instance!r} in {subject} {problem or 'is not an allowed key'}"
    elif error.validator == "required":
        yield from (f"{subject} has no '{key}'" for key in error.validator_value if key not in error.instance)
    elif problem:
        yield f"{subject} {problem}"
    else:
        yield f"{subject} {_reason(error)}"


def _reason(error: ValidationError) -> str:
    rule, value = error.validator, error.validator_value
    if rule == "type":
        kinds = value if isinstance(value, list) else [value]
        return "should be " + " or ".join(_TYPE_WORDS.get(str(k), str(k)) for k in kinds)
    if rule == "enum":
        return f"is {error.instance!r}, not one of " + ", ".join(repr(v) for v in value)
    if rule == "const":
        return f"should be {value!r}"
    if rule == "format" and value == "finite":
        return "should be a finite number"
    if rule in ("minItems", "minProperties") and value == 1:
        return "is empty"
    bounds = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "above", "exclusiveMaximum": "below"}
    if rule in bounds:
        return f"should be {bounds[rule]} {value}"
    return f"breaks the schema's '{rule}' rule"


def _meaning_problems(manifest: dict[str, Any]) -> list[str]:
    """The rules a JSON Schema can't express; the shape has passed the schema."""
    models, features = manifest["models"], manifest["features"]
    problems = [] if manifest["champion"] in models else [f"champion {manifest['champion']!r} is not one of the models"]
    names = [feature["name"] for feature in features]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        problems.append(f"feature names repeat: {', '.join(repeated)}")
    problems += [
        f"'encoding[{i}]' refers to unknown feature {slot['feature']!r}"
        for i, slot in enumerate(manifest["encoding"])
        if slot["feature"] not in names
    ]
    for i, feature in enumerate(features):
        codes = [reason["code"] for reason in feature.get("reasons", [])]
        repeated = sorted({code for code in codes if codes.count(code) > 1})
        if repeated:
            problems.append(f"'features[{i}].reasons' repeat codes: {', '.join(repeated)}")
        for j, reason in enumerate(feature.get("reasons", [])):
            if "lower" in reason and "upper" in reason and not reason["lower"] < reason["upper"]:
                problems.append(f"'features[{i}].reasons[{j}]' must have lower < upper")
    for name, model in models.items():
        bands = model.get("risk_bands")
        if bands is not None and not bands["medium"] <= bands["high"]:
            problems.append(f"model '{name}': risk_bands must hold cut-offs 0 ≤ medium ≤ high ≤ 1")
    return problems


def feature_names(manifest: dict[str, Any]) -> list[str]:
    return [f["name"] for f in manifest["features"]]


def feature_labels(manifest: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["label"] for f in manifest["features"]}


def model_names(manifest: dict[str, Any]) -> list[str]:
    """Models in manifest order, champion first."""
    champion = manifest["champion"]
    return [champion] + [m for m in manifest["models"] if m != champion]

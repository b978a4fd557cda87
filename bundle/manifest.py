"""The manifest: what a bundle holds, how it was made, and a checksum per file.

The manifest is plain JSON so a bundle can be inspected with any tool. This module
checks its shape; it knows nothing about how the numbers in it were produced.

Shape (schema version 2)::

    schema_version  int
    bundle          str     name of the bundle ("telco")
    run_id          str     unique per training run; readers cache by it
    created_at      str     ISO-8601 UTC
    dataset         {name, source, fingerprint, rows, label_rate, label_name,
                     positive_label, id_type: "int" | "string",
                     id_column?: str | null, id_hashing?: {algorithm, key}}
    split           {method, seed, test_fraction, train_rows, test_rows,
                     train_label_rate, test_label_rate}
    features        [{name, type: numeric|binary|categorical, label,
                      categories?: [str], source?: str, values?: {"1", "0"},
                      category_labels?: {str: str}, actionable?: bool}]   # order = display order
                    # actionable: the business can change it (retention levers use only these)
    encoding        [{feature, kind: numeric|onehot, category?, fill?}]
                    # one entry per model input slot, in slot order
    models          {name: {family, display_name, params, metrics, threshold,
                     training_seconds, shap: {base_value, output, method},
                     files: {role: relative path},
                     runtime: {kind, files: {file name: relative path}},
                     risk_bands?: {high, medium, method}}}   # see bundle/risk.py
                    # runtime: what `runtime.core` loads to run the model without a JVM
    champion        str     key of `models`
    champion_metric str
    versions        {library: version}
    timings         {stage: seconds}
    memory?         {stage: {driver_python_peak_mb, driver_python_peak_scope: "stage" | "process",
                     driver_jvm_heap_peak_mb?}}   # peak within each stage (training/memory.py)
    spark?          {master, default_parallelism, driver_jvm_heap_max_mb?, settings?: {spark conf key: value}}
    files           {relative path: {sha256, bytes}}   # every file but the manifest
    items?          {method, params, items, dimensions, sequences, churn_window,
                     fit_seconds, quality}   # only bundles trained from events
"""

from __future__ import annotations

import math
from typing import Any

from bundle import layout

REQUIRED_KEYS = (
    "schema_version",
    "bundle",
    "run_id",
    "created_at",
    "dataset",
    "split",
    "features",
    "encoding",
    "models",
    "champion",
    "champion_metric",
    "versions",
    "timings",
    "files",
)


_SHAPES = {
    "dataset": dict,
    "split": dict,
    "features": list,
    "encoding": list,
    "models": dict,
    "versions": dict,
    "timings": dict,
    "files": dict,
    "run_id": str,
    "champion": str,
    "created_at": str,
    "champion_metric": str,
    "bundle": str,
}
_NUMBER = (int, float)
ENCODING_KINDS = ("numeric", "onehot")


def _is_number(value: Any) -> bool:
    """A finite JSON number (NaN and infinities parse from JSON but mean nothing here)."""
    return isinstance(value, _NUMBER) and not isinstance(value, bool) and math.isfinite(value)


def manifest_problems(manifest: Any) -> list[str]:
    """Every way `manifest` breaks the contract, as readable sentences.

    Checks shapes deeply enough that code reading a manifest that passed needs
    no guards of its own: every key it relies on exists with the right type.
    """
    if not isinstance(manifest, dict):
        return ["the manifest is not a JSON object"]
    problems = [f"the manifest has no '{key}'" for key in REQUIRED_KEYS if key not in manifest]
    problems += [
        f"'{key}' should be a {kind.__name__}"
        for key, kind in _SHAPES.items()
        if key in manifest and not isinstance(manifest[key], kind)
    ]
    if problems:
        return problems
    nested = [
        *(("features", f) for f in manifest["features"]),
        *(("encoding", e) for e in manifest["encoding"]),
        *(("models", m) for m in manifest["models"].values()),
        *(("files", e) for e in manifest["files"].values()),
    ]
    bad = sorted({where for where, entry in nested if not isinstance(entry, dict)})
    if bad:
        return [f"entries of '{where}' should be objects" for where in bad]
    return [
        *_file_problems(manifest["files"]),
        *_dataset_problems(manifest["dataset"]),
        *_feature_problems(manifest["features"], manifest["encoding"]),
        *_model_problems(manifest["models"], manifest["champion"]),
    ]


def _file_problems(files: dict) -> list[str]:
    problems = []
    for relpath, entry in files.items():
        parts = relpath.split("/")
        if relpath.startswith("/") or "\\" in relpath or ".." in parts or "" in parts:
            problems.append(f"file path {relpath!r} leaves the bundle")
        if not isinstance(entry.get("sha256"), str) or not isinstance(entry.get("bytes"), int):
            problems.append(f"file entry {relpath!r} needs a sha256 string and a byte count")
    return problems


def _dataset_problems(dataset: dict) -> list[str]:
    problems = []
    if dataset.get("id_type") not in ("int", "string"):
        problems.append("dataset.id_type must be 'int' or 'string'")
    if not isinstance(dataset.get("rows"), int) or isinstance(dataset.get("rows"), bool) or dataset["rows"] < 1:
        problems.append("dataset.rows must be a positive whole number")
    return problems


def _feature_problems(features: list, encoding: list) -> list[str]:
    problems = [] if features else ["the feature list is empty"]
    if not encoding:
        problems.append("the encoding list is empty")
    names = [f.get("name") for f in features]
    if not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        problems.append("feature names are missing or repeated")
    for feature in features:
        if feature.get("type") not in layout.FEATURE_TYPES:
            problems.append(f"feature '{feature.get('name')}' has unknown type {feature.get('type')!r}")
        if not isinstance(feature.get("label"), str):
            problems.append(f"feature '{feature.get('name')}' has no display label")
        if not isinstance(feature.get("actionable", False), bool):
            problems.append(f"feature '{feature.get('name')}' has a non-boolean 'actionable'")
    for slot in encoding:
        if slot.get("feature") not in names:
            problems.append(f"encoding slot refers to unknown feature {slot.get('feature')!r}")
        elif slot.get("kind") not in ENCODING_KINDS:
            problems.append(f"encoding slot of '{slot['feature']}' has unknown kind {slot.get('kind')!r}")
        elif slot["kind"] == "numeric" and not _is_number(slot.get("fill")):
            problems.append(f"numeric slot of '{slot['feature']}' has no fill value")
        elif slot["kind"] == "onehot" and not isinstance(slot.get("category"), str):
            problems.append(f"one-hot slot of '{slot['feature']}' has no category")
    return problems


def _model_problems(models: dict, champion: str) -> list[str]:
    problems = [] if models else ["the bundle has no models"]
    if champion not in models:
        problems.append(f"champion {champion!r} is not one of the models")
    for name, model in models.items():
        for key, kind in (("family", str), ("display_name", str), ("metrics", dict), ("shap", dict), ("files", dict)):
            if not isinstance(model.get(key), kind):
                problems.append(f"model '{name}' has no '{key}' {kind.__name__}")
        if not _is_number(model.get("threshold")) or not 0 <= model["threshold"] <= 1:
            problems.append(f"model '{name}' has no threshold between 0 and 1")
        if isinstance(model.get("shap"), dict) and not _is_number(model["shap"].get("base_value")):
            problems.append(f"model '{name}' has no finite SHAP base value")
        runtime = model.get("runtime")
        if not (
            isinstance(runtime, dict)
            and isinstance(runtime.get("kind"), str)
            and isinstance(runtime.get("files"), dict)
            and runtime["files"]
            and all(isinstance(k, str) and isinstance(v, str) for k, v in runtime["files"].items())
        ):
            problems.append(f"model '{name}' has no runtime {{kind, files}}")
        bands = model.get("risk_bands")
        if bands is not None and not (
            isinstance(bands, dict) and all(_is_number(bands.get(k)) for k in ("high", "medium"))
        ):
            problems.append(f"model '{name}' has malformed risk_bands")
    return problems


def feature_names(manifest: dict) -> list[str]:
    return [f["name"] for f in manifest["features"]]


def feature_labels(manifest: dict) -> dict[str, str]:
    return {f["name"]: f["label"] for f in manifest["features"]}


def model_names(manifest: dict) -> list[str]:
    """Models in manifest order, champion first."""
    champion = manifest["champion"]
    return [champion] + [m for m in manifest["models"] if m != champion]

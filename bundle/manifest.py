"""The manifest: what a bundle holds, how it was made, and a checksum per file.

The manifest is plain JSON so a bundle can be inspected with any tool. This module
checks its shape; it knows nothing about how the numbers in it were produced.

Shape (schema version 1)::

    schema_version  int
    bundle          str     name of the bundle ("telco")
    run_id          str     unique per training run; readers cache by it
    created_at      str     ISO-8601 UTC
    dataset         {name, source, fingerprint, rows, label_rate, label_name,
                     positive_label, id_type: "int" | "string"}
    split           {method, seed, test_fraction, train_rows, test_rows,
                     train_label_rate, test_label_rate}
    features        [{name, type: numeric|binary|categorical, label,
                      categories?: [str]}]   # order = display order
    encoding        [{feature, kind: numeric|onehot, category?, fill?}]
                    # one entry per model input slot, in slot order
    models          {name: {family, display_name, params, metrics, threshold,
                     training_seconds, shap: {base_value, output, method},
                     files: {role: relative path}}}
    champion        str     key of `models`
    champion_metric str
    versions        {library: version}
    timings         {stage: seconds}
    files           {relative path: {sha256, bytes}}   # every file but the manifest
"""

from __future__ import annotations

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
    "dataset": dict, "split": dict, "features": list, "encoding": list, "models": dict,
    "versions": dict, "timings": dict, "files": dict, "run_id": str, "champion": str,
}


def manifest_problems(manifest: Any) -> list[str]:
    """Every way `manifest` breaks the contract, as readable sentences."""
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
        *((f"models.{k}", m) for k, m in manifest["models"].items()),
        *((f"files.{k}", e) for k, e in manifest["files"].items()),
    ]
    bad = sorted({where.split(".")[0] for where, entry in nested if not isinstance(entry, dict)})
    if bad:
        return [f"entries of '{where}' should be objects" for where in bad]
    for relpath in manifest["files"]:
        parts = relpath.split("/")
        if relpath.startswith("/") or "\\" in relpath or ".." in parts or "" in parts:
            problems.append(f"file path {relpath!r} leaves the bundle")
    features = manifest["features"]
    names = [f.get("name") for f in features if isinstance(f, dict)]
    if len(names) != len(features) or len(set(names)) != len(names):
        problems.append("feature names are missing or repeated")
    for feature in features:
        if isinstance(feature, dict) and feature.get("type") not in layout.FEATURE_TYPES:
            problems.append(f"feature '{feature.get('name')}' has unknown type {feature.get('type')!r}")
    for slot in manifest["encoding"]:
        if slot.get("feature") not in names:
            problems.append(f"encoding slot refers to unknown feature {slot.get('feature')!r}")
    models = manifest["models"]
    if not models:
        problems.append("the bundle has no models")
    if manifest["champion"] not in models:
        problems.append(f"champion {manifest['champion']!r} is not one of the models")
    for name, model in models.items():
        for key in ("family", "display_name", "metrics", "threshold", "shap", "files"):
            if key not in model:
                problems.append(f"model '{name}' has no '{key}'")
        if "shap" in model and "base_value" not in model["shap"]:
            problems.append(f"model '{name}' has no SHAP base value")
    if manifest["dataset"].get("id_type") not in ("int", "string"):
        problems.append("dataset.id_type must be 'int' or 'string'")
    return problems


def feature_names(manifest: dict) -> list[str]:
    return [f["name"] for f in manifest["features"]]


def feature_labels(manifest: dict) -> dict[str, str]:
    return {f["name"]: f["label"] for f in manifest["features"]}


def model_names(manifest: dict) -> list[str]:
    """Models in manifest order, champion first."""
    champion = manifest["champion"]
    return [champion] + [m for m in manifest["models"] if m != champion]

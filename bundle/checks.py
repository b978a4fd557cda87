"""Invariants of a bundle's content, checked before a bundle is published.

These go beyond the manifest's shape: per-customer tables line up row by row,
probabilities agree with log-odds, and SHAP values are locally accurate
(base value + sum of SHAP = the model's log-odds on every row).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from bundle import ids as id_hashing
from bundle import layout
from bundle.feature_types import is_safe_name
from bundle.manifest import feature_names
from bundle.reader import Bundle


def _ids(table: pa.Table) -> np.ndarray:
    return table.column(layout.ID_COLUMN).to_numpy(zero_copy_only=False)


def _local_accuracy(shap_values: pa.Table, margin: np.ndarray, base: float, names: list[str]) -> float:
    total = np.column_stack([shap_values.column(n).to_numpy() for n in names]).sum(axis=1)
    # NaN must count as a failure, so it is not hidden by max().
    errors = np.abs(base + total - margin)
    return float("inf") if np.isnan(errors).any() else float(np.max(errors, initial=0.0))


def local_accuracy_error(bundle: Bundle, model: str) -> float:
    """Largest |base value + sum(SHAP) - margin| over every customer."""
    names = feature_names(bundle.manifest)
    margin = bundle.read_table(layout.predictions_path(model), columns=[layout.MARGIN_COLUMN]).column(0).to_numpy()
    base = bundle.manifest["models"][model]["shap"]["base_value"]
    return _local_accuracy(bundle.read_table(layout.shap_path(model), columns=names), margin, base, names)


def _model_problems(bundle: Bundle, model: str, ids: np.ndarray, names: list[str]) -> list[str]:
    problems = []
    predictions = bundle.read_table(layout.predictions_path(model))
    shap_values = bundle.read_table(layout.shap_path(model))
    for relpath, table in ((layout.predictions_path(model), predictions), (layout.shap_path(model), shap_values)):
        if table.num_rows != len(ids) or not np.array_equal(_ids(table), ids):
            problems.append(f"{relpath} is not aligned row by row with {layout.CUSTOMERS}")
    if problems:
        return problems
    if set(names) - set(shap_values.column_names):
        return [f"{layout.shap_path(model)} lacks SHAP columns for some features"]
    probability = predictions.column(layout.PROBABILITY_COLUMN).to_numpy()
    margin = predictions.column(layout.MARGIN_COLUMN).to_numpy()
    if not (np.all(np.isfinite(margin)) and np.all((probability >= 0) & (probability <= 1))):
        return [f"model '{model}' has non-finite margins or probabilities outside [0, 1]"]
    if not np.max(np.abs(1 / (1 + np.exp(-margin)) - probability), initial=0.0) <= 1e-6:
        problems.append(f"model '{model}': probabilities disagree with sigmoid(margin)")
    base = bundle.manifest["models"][model]["shap"]["base_value"]
    error = _local_accuracy(shap_values, margin, base, names)
    if not error <= layout.LOCAL_ACCURACY_TOLERANCE:
        problems.append(
            f"model '{model}': base value + sum of SHAP misses the log-odds by {error:.2e} "
            f"(tolerance {layout.LOCAL_ACCURACY_TOLERANCE:g})"
        )
    listed = bundle.manifest["files"]
    for role, relpath in bundle.manifest["models"][model]["files"].items():
        if relpath not in listed and not any(f.startswith(relpath + "/") for f in listed):
            problems.append(f"model '{model}': its {role} file {relpath} is not in the bundle")
    return problems


def _additive_key_problems(manifest: dict, customer_ids: np.ndarray, names: list[str]) -> list[str]:
    """Invariants of the keys added for own data: safe feature names, hashed IDs, risk bands."""
    problems = [f"feature name {n!r} is not a safe name (bundle.feature_types)" for n in names if not is_safe_name(n)]
    if id_hashing.is_hashed(manifest) and not all(isinstance(i, str) and id_hashing.looks_hashed(i) for i in customer_ids.tolist()):
        problems.append("the manifest says IDs are hashed but some customer IDs are not 64 hex digits")
    for model, entry in manifest["models"].items():
        bands = entry.get("risk_bands")
        if bands is not None and not (
            isinstance(bands, dict) and all(isinstance(bands.get(k), float) for k in ("high", "medium"))
            and 0.0 <= bands["medium"] <= bands["high"] <= 1.0
        ):
            problems.append(f"model '{model}': risk_bands must hold cut-offs 0 ≤ medium ≤ high ≤ 1")
    return problems


def bundle_problems(bundle: Bundle) -> list[str]:
    """Every broken content invariant, as readable sentences (empty = sound)."""
    manifest = bundle.manifest
    names = feature_names(manifest)
    customers = bundle.read_table(layout.CUSTOMERS)
    missing = {layout.ID_COLUMN, layout.LABEL_COLUMN, layout.SPLIT_COLUMN, *names} - set(customers.column_names)
    if missing:
        return [f"{layout.CUSTOMERS} lacks columns {sorted(missing)}"]
    ids = _ids(customers)
    if len(ids) == 0:
        return [f"{layout.CUSTOMERS} has no customers"]
    problems: list[str] = []
    if len(ids) != manifest["dataset"]["rows"]:
        problems.append(f"{layout.CUSTOMERS} has {len(ids)} rows, the manifest says {manifest['dataset']['rows']}")
    if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
        problems.append(f"{layout.CUSTOMERS} is not sorted by unique {layout.ID_COLUMN}")
    labels = set(customers.column(layout.LABEL_COLUMN).to_pylist())
    if not labels <= {0, 1}:
        problems.append(f"{layout.LABEL_COLUMN} holds values other than 0 and 1")
    splits = customers.column(layout.SPLIT_COLUMN).to_numpy(zero_copy_only=False)
    if not set(splits) <= set(layout.SPLITS):
        problems.append(f"unknown split values {sorted(set(splits) - set(layout.SPLITS))}")

    for model in manifest["models"]:
        problems += _model_problems(bundle, model, ids, names)
    problems += _additive_key_problems(manifest, ids, names)

    curves = bundle.read_table(layout.CURVES, columns=["model", "curve"])
    if set(manifest["models"]) - set(curves.column("model").to_pylist()):
        problems.append(f"{layout.CURVES} lacks curves for some models")
    if not set(curves.column("curve").to_pylist()) <= set(layout.CURVE_KINDS):
        problems.append(f"{layout.CURVES} holds curve kinds other than {', '.join(layout.CURVE_KINDS)}")

    background = _ids(bundle.read_table(layout.BACKGROUND, columns=[layout.ID_COLUMN]))
    positions = np.searchsorted(ids, background)
    known = (positions < len(ids)) & (ids[np.minimum(positions, len(ids) - 1)] == background)
    if not known.all() or not set(splits[positions]) <= {"train"}:
        problems.append(f"{layout.BACKGROUND} must hold training customers only")
    return problems

"""Invariants of a bundle's content, checked before a bundle is published.

These go beyond the manifest's shape: per-customer tables line up row by row,
probabilities agree with log-odds, and SHAP values are locally accurate
(base value + sum of SHAP = the model's log-odds on every row).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from bundle import layout
from bundle.manifest import feature_names
from bundle.reader import Bundle


def _ids(table: pa.Table) -> np.ndarray:
    return table.column(layout.ID_COLUMN).to_numpy(zero_copy_only=False)


def local_accuracy_error(bundle: Bundle, model: str) -> float:
    """Largest |base value + sum(SHAP) - margin| over every customer."""
    names = feature_names(bundle.manifest)
    shap_values = bundle.read_table(layout.shap_path(model), columns=names)
    margins = bundle.read_table(layout.predictions_path(model), columns=[layout.MARGIN_COLUMN])
    total = np.column_stack([shap_values.column(n).to_numpy() for n in names]).sum(axis=1)
    base = bundle.manifest["models"][model]["shap"]["base_value"]
    return float(np.max(np.abs(base + total - margins.column(0).to_numpy()), initial=0.0))


def bundle_problems(bundle: Bundle) -> list[str]:
    """Every broken content invariant, as readable sentences (empty = sound)."""
    manifest = bundle.manifest
    names = feature_names(manifest)
    customers = bundle.read_table(layout.CUSTOMERS)
    missing = {layout.ID_COLUMN, layout.LABEL_COLUMN, layout.SPLIT_COLUMN, *names} - set(
        customers.column_names
    )
    if missing:
        return [f"{layout.CUSTOMERS} lacks columns {sorted(missing)}"]
    problems: list[str] = []
    ids = _ids(customers)
    if len(ids) != manifest["dataset"]["rows"]:
        problems.append(f"{layout.CUSTOMERS} has {len(ids)} rows, the manifest says {manifest['dataset']['rows']}")
    if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
        problems.append(f"{layout.CUSTOMERS} is not sorted by unique {layout.ID_COLUMN}")
    splits = set(customers.column(layout.SPLIT_COLUMN).to_pylist())
    if not splits <= set(layout.SPLITS):
        problems.append(f"unknown split values {sorted(splits - set(layout.SPLITS))}")

    for model in manifest["models"]:
        predictions = bundle.read_table(layout.predictions_path(model))
        shap_values = bundle.read_table(layout.shap_path(model))
        for relpath, table in ((layout.predictions_path(model), predictions), (layout.shap_path(model), shap_values)):
            if table.num_rows != len(ids) or not np.array_equal(_ids(table), ids):
                problems.append(f"{relpath} is not aligned row by row with {layout.CUSTOMERS}")
        if set(names) - set(shap_values.column_names):
            problems.append(f"{layout.shap_path(model)} lacks SHAP columns for some features")
            continue
        probability = predictions.column(layout.PROBABILITY_COLUMN).to_numpy()
        margin = predictions.column(layout.MARGIN_COLUMN).to_numpy()
        if not np.all(np.isfinite(margin)) or np.any((probability < 0) | (probability > 1)):
            problems.append(f"model '{model}' has non-finite margins or probabilities outside [0, 1]")
        elif np.max(np.abs(1 / (1 + np.exp(-margin)) - probability), initial=0.0) > 1e-6:
            problems.append(f"model '{model}': probabilities disagree with sigmoid(margin)")
        error = local_accuracy_error(bundle, model)
        if not error <= layout.LOCAL_ACCURACY_TOLERANCE:
            problems.append(
                f"model '{model}': base value + sum of SHAP misses the log-odds by {error:.2e} "
                f"(tolerance {layout.LOCAL_ACCURACY_TOLERANCE:g})"
            )

    curves = bundle.read_table(layout.CURVES, columns=["model"])
    if set(manifest["models"]) - set(curves.column("model").to_pylist()):
        problems.append(f"{layout.CURVES} lacks curves for some models")
    return problems

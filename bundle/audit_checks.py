"""Invariants of the audit tables (schema 5: group metrics and error analysis).

`audit_structure` names the tables and columns a measured audit implies (checked on every open with
the other tables' schemas); `audit_problems` reads the small audit tables whole before every publish.
A bundle whose `audit.measured` is false (migrated from schema 4 or older) has none of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bundle import layout
from bundle.errors import BundleError
from bundle.files import Bundle
from bundle.manifest import feature_names

FIXED_METRICS = ("rows", "positives", "churn_rate", "mean_probability", "roc_auc", "brier")
_TEXT = ("model", "dimension", "group", "metric", "target", "condition", "cohort")


def audit_columns(manifest: dict[str, Any]) -> dict[str, list[str]]:
    """{audit table: the columns it must have}; empty when the bundle has no audit."""
    audit = manifest["audit"]
    if not audit["measured"]:
        return {}
    rows = [layout.ID_COLUMN, layout.LABEL_COLUMN, *feature_names(manifest)]
    rows += [layout.group_column(d["name"]) for d in audit["dimensions"]]
    rows += [layout.probability_column_of(m) for m in manifest["models"]]
    return {layout.AUDIT_ROWS: rows, **{relpath: list(columns) for relpath, columns in layout.AUDIT_COLUMNS.items()}}


def _read(bundle: Bundle, relpath: str) -> pd.DataFrame:
    return bundle.read_table(relpath).to_pandas()


def audit_problems(bundle: Bundle) -> list[str]:
    """Every broken audit invariant as a sentence (empty = sound, or no audit)."""
    manifest = bundle.manifest
    if not manifest["audit"]["measured"]:
        return []
    models = set(manifest["models"])
    dimensions = {d["name"]: d for d in manifest["audit"]["dimensions"]}
    try:
        rows = _read(bundle, layout.AUDIT_ROWS)
        metrics = _read(bundle, layout.AUDIT_METRICS)
        cohorts = _read(bundle, layout.ERROR_COHORTS)
        tree = _read(bundle, layout.ERROR_TREE)
    except BundleError as exc:
        return [str(exc)]
    problems = _row_problems(manifest, rows, dimensions)
    if set(metrics["model"]) != models or set(metrics["dimension"]) != set(dimensions):
        problems.append(f"{layout.AUDIT_METRICS} does not cover every model and dimension")
    if not set(metrics["metric"]) <= set(FIXED_METRICS):
        problems.append(f"{layout.AUDIT_METRICS} holds unknown metrics")
    values = metrics[["value", "lower", "upper"]].to_numpy(dtype=np.float64)
    rates = metrics["metric"].isin(FIXED_METRICS[2:]).to_numpy()
    if np.any((values[rates] < 0) | (values[rates] > 1)):
        problems.append(f"{layout.AUDIT_METRICS}: rates and their intervals must lie in [0, 1]")
    for name, table in ((layout.ERROR_TREE, tree), (layout.ERROR_COHORTS, cohorts)):
        pairs = set(zip(table["model"], table["target"], strict=True))
        if pairs != {(m, t) for m in models for t in layout.ERROR_TARGETS}:
            problems.append(f"{name} does not hold both targets of every model")
    return problems


def _row_problems(manifest: dict[str, Any], rows: pd.DataFrame, dimensions: dict[str, dict]) -> list[str]:
    problems = []
    if len(rows) != manifest["audit"]["rows"]:
        problems.append(f"{layout.AUDIT_ROWS} has {len(rows)} rows, the manifest says {manifest['audit']['rows']}")
    ids = rows[layout.ID_COLUMN]
    if not (ids.is_monotonic_increasing and ids.is_unique):
        problems.append(f"{layout.AUDIT_ROWS} is not sorted by unique {layout.ID_COLUMN}")
    for name, dimension in dimensions.items():
        if not set(rows[layout.group_column(name)]) <= set(dimension["groups"]):
            problems.append(f"{layout.AUDIT_ROWS}: dimension '{name}' holds groups the manifest does not list")
    probability = rows[[layout.probability_column_of(m) for m in manifest["models"]]].to_numpy(dtype=np.float64)
    if not np.all((probability >= 0) & (probability <= 1)):
        problems.append(f"{layout.AUDIT_ROWS}: probabilities must lie in [0, 1]")
    return problems

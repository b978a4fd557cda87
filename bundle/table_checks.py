"""Invariants of the model-level tables (evaluation and explanation): one small table each,
read whole, checked before every publish by `bundle.checks.bundle_problems`."""

from __future__ import annotations

import numpy as np

from bundle import layout
from bundle.errors import BundleError
from bundle.files import Bundle

# Columns of each model-level table and which of them must lie in [0, 1].
_TABLES = {
    layout.CALIBRATION: (
        ("model", "bin", "lower", "upper", "mean_predicted", "observed_rate", "count"),
        ("mean_predicted", "observed_rate", "lower", "upper"),
    ),
    layout.SCORE_DISTRIBUTION: (("model", "label", "lower", "upper", "count"), ("lower", "upper")),
    layout.PERMUTATION_IMPORTANCE: (("model", "feature", "mean_drop", "std_drop", "repeats"), ()),
    layout.PDP: (
        ("model", "feature", "grid_index", "value", "numeric_value", "average_probability", "customers"),
        ("average_probability",),
    ),
    layout.ICE: (("model", "feature", "grid_index", layout.ID_COLUMN, "probability"), ("probability",)),
}


def model_table_problems(bundle: Bundle, models: set[str], features: set[str]) -> list[str]:
    """Evaluation and explanation tables: present for every model, finite, probabilities in [0, 1]."""
    problems = []
    for relpath, (columns, unit) in _TABLES.items():
        try:
            table = bundle.read_table(relpath).to_pandas()
        except BundleError as exc:
            problems.append(str(exc))
            continue
        missing = set(columns) - set(table.columns)
        if missing:
            problems.append(f"{relpath} lacks columns {sorted(missing)}")
            continue
        if models - set(table["model"]):
            problems.append(f"{relpath} lacks rows for models {sorted(models - set(table['model']))}")
        numbers = [c for c in columns if c not in ("model", "feature", "value", layout.ID_COLUMN, "numeric_value")]
        if not np.isfinite(table[numbers].to_numpy(dtype=np.float64)).all():
            problems.append(f"{relpath} holds missing or non-finite numbers")
        elif any(((table[c] < 0) | (table[c] > 1)).any() for c in unit):
            problems.append(f"{relpath}: {', '.join(unit)} must lie in [0, 1]")
        if "feature" in table and not set(table["feature"]) <= features:
            problems.append(f"{relpath} names features the bundle does not have")
    for relpath in (layout.PERMUTATION_IMPORTANCE, layout.PDP):
        try:
            table = bundle.read_table(relpath, columns=["model", "feature"]).to_pandas()
        except BundleError:
            continue
        for model in models & set(table["model"]):
            if set(table.loc[table["model"] == model, "feature"]) != features:
                problems.append(f"{relpath} does not cover every feature of model '{model}'")
    return problems

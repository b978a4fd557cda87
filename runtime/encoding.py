"""Encode raw feature values into model input slots without a JVM.

Mirrors the training feature pipeline from the manifest's `encoding`: numeric
and binary slots take the value (missing → the recorded fill), one-hot slots
are 1.0 where the category matches (an unseen category is all zeros). This is
what lets the dashboard run the bundle's models on edited rows (what-if, ICE).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def encode_rows(rows: pd.DataFrame, encoding: list[dict]) -> np.ndarray:
    """(n_rows × n_slots) float64 matrix for the raw feature columns in `rows`."""
    out = np.zeros((len(rows), len(encoding)))
    # Each categorical column is converted to strings once, then compared per one-hot slot in
    # NumPy: per-slot pandas string comparisons made one-row encodes (what-if) take ~10 ms.
    as_text: dict[str, np.ndarray] = {}
    for slot, entry in enumerate(encoding):
        column = rows[entry["feature"]]
        if entry["kind"] == "numeric":
            values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
            out[:, slot] = np.where(np.isnan(values), entry["fill"], values)
        else:
            text = as_text.get(entry["feature"])
            if text is None:
                text = as_text[entry["feature"]] = column.astype("string").to_numpy(dtype=object, na_value=None)
            out[:, slot] = text == entry["category"]
    return out


def grouping_matrix(encoding: list[dict], feature_names: list[str]) -> np.ndarray:
    """(n_slots × n_features) 0/1 matrix: slot SHAP values @ G = per-feature SHAP."""
    index = {name: i for i, name in enumerate(feature_names)}
    matrix = np.zeros((len(encoding), len(feature_names)))
    for slot, entry in enumerate(encoding):
        matrix[slot, index[entry["feature"]]] = 1.0
    return matrix

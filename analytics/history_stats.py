"""Population figures of one scored snapshot, computed once when it is appended (the Monitoring page only draws them).

Feature drift is `analytics.drift` against the scoring generation's training customers (same bins, PSI and
watch/act thresholds as `training score`'s report). Explanation drift uses the same PSI on each feature's SHAP
values: bins are the deciles of the training customers' SHAP values of that feature under the same model, so a
flag means the model now leans on the feature differently. The main reason of a customer is the feature with
the largest |SHAP|.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from analytics import drift

SCORE_BINS = 20  # equal-width probability bins, 0–100 %


def score_histogram(probability: np.ndarray) -> list[int]:
    index = np.clip((np.asarray(probability, dtype=float) * SCORE_BINS).astype(int), 0, SCORE_BINS - 1)
    return np.bincount(index, minlength=SCORE_BINS).astype(int).tolist()


def feature_drift(feature: Mapping, reference: pd.Series, new: pd.Series) -> dict:
    """`drift.feature_report` of one feature: new values binned like the training ones."""
    ref_counts, ref_missing, edges = drift.reference_counts(dict(feature), reference)
    if feature["type"] == "numeric":
        present = pd.to_numeric(new, errors="coerce").dropna().to_numpy(dtype=float)
        new_counts = np.bincount(drift.numeric_bins(present, edges or []), minlength=len(ref_counts))
        new_missing = int(len(new) - len(present))
    else:
        new_counts, new_missing, _ = drift.reference_counts(dict(feature), new)
    return drift.feature_report(dict(feature), ref_counts, ref_missing, new_counts, new_missing, edges)


def shap_drift(reference: np.ndarray, new: np.ndarray) -> dict:
    """PSI of one feature's SHAP values against the training customers' (their deciles as bins)."""
    edges = drift.numeric_edges(pd.Series(reference))
    ref_counts = np.bincount(drift.numeric_bins(reference, edges), minlength=len(edges) + 1)
    new_counts = np.bincount(drift.numeric_bins(new, edges), minlength=len(edges) + 1)
    value = drift.psi(ref_counts, new_counts)
    return {"psi": round(value, 6), "status": drift.status(value, 0.0)}


def explanation_figures(phi: np.ndarray, reference_phi: np.ndarray, features: list[str]) -> dict:
    """Mean |SHAP| per feature, share of customers whose main reason is each feature, SHAP PSI per feature."""
    phi = np.asarray(phi, dtype=float)
    main = np.argmax(np.abs(phi), axis=1) if len(phi) else np.zeros(0, dtype=int)
    shares = np.bincount(main, minlength=len(features)) / max(len(phi), 1)
    return {
        "mean_abs_shap": {f: float(np.mean(np.abs(phi[:, j]))) if len(phi) else 0.0 for j, f in enumerate(features)},
        "main_reason_share": {f: float(shares[j]) for j, f in enumerate(features)},
        "shap_drift": {f: shap_drift(reference_phi[:, j], phi[:, j]) for j, f in enumerate(features)},
    }


def band_counts(bands: np.ndarray) -> dict[str, int]:
    values, counts = np.unique(np.asarray(bands, dtype=str), return_counts=True)
    return {str(v): int(c) for v, c in zip(values, counts, strict=True)}

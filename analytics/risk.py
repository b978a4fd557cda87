"""Risk bands, defined once: where "high", "medium" and "low" churn risk begin.

Cut-offs are fixed at training time from the training customers' scores of each
model and stored in the manifest (`models.<name>.risk_bands` = {high, medium,
method}): the top 10 % of training scores are *high*, the next 20 % *medium*,
the rest *low*. Relative bands suit a retention team, which acts on its riskiest
customers whatever the base rate; fixing them at training time keeps a band's
meaning stable when new data is scored (a drifting population moves customers
between bands instead of moving the bands). The dashboard, batch scoring and
reports all band customers through this module.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from bundle import layout

HIGH, MEDIUM, LOW = "high", "medium", "low"
BANDS = (HIGH, MEDIUM, LOW)
HIGH_SHARE = 0.10
MEDIUM_SHARE = 0.20
METHOD = "training-score quantiles: high = top 10 %, medium = next 20 %, low = the rest"


def cutoffs_from_scores(scores: np.ndarray) -> dict:
    """{high, medium, method}: a probability ≥ high is high risk, ≥ medium is medium."""
    scores = np.asarray(scores, dtype=float)
    if scores.size == 0:
        return {HIGH: 1.0, MEDIUM: 1.0, "method": METHOD}
    high = float(np.quantile(scores, 1.0 - HIGH_SHARE))
    medium = float(np.quantile(scores, 1.0 - HIGH_SHARE - MEDIUM_SHARE))
    return {HIGH: high, MEDIUM: min(medium, high), "method": METHOD}


band_cutoffs = cutoffs_from_scores


def cutoffs(bundle, model: str) -> dict:
    """The model's stored cut-offs; bundles trained before they existed get them from their training scores."""
    stored = bundle.manifest["models"][model].get("risk_bands")
    if isinstance(stored, dict) and isinstance(stored.get(HIGH), float) and isinstance(stored.get(MEDIUM), float):
        return stored
    customers = (
        bundle.read_table(layout.CUSTOMERS, columns=[layout.SPLIT_COLUMN]).column(0).to_numpy(zero_copy_only=False)
    )
    scores = bundle.read_table(layout.predictions_path(model), columns=[layout.PROBABILITY_COLUMN]).column(0).to_numpy()
    return cutoffs_from_scores(scores[customers == "train"])


def band(probability, cuts: Mapping):
    """'high' | 'medium' | 'low' for one probability or an array of them."""
    p = np.asarray(probability, dtype=float)
    out = np.where(p >= cuts[HIGH], HIGH, np.where(p >= cuts[MEDIUM], MEDIUM, LOW))
    return str(out) if out.ndim == 0 else out


def risk_band(probability: float, cuts: Mapping) -> str:
    return band(float(probability), cuts)


def describe_bands() -> str:
    """One sentence for captions and reports."""
    return (
        f"High risk = the riskiest {HIGH_SHARE:.0%} of the training customers' scores under this model, "
        f"medium = the next {MEDIUM_SHARE:.0%}, low = below that."
    )

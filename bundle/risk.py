"""Risk bands, defined once: where "high", "medium" and "low" risk begin.

Cut-offs are fixed at training time from the training customers' scores of each
model and stored in the manifest (`models.<name>.risk_bands`): the top 10 % of
training scores are *high*, the next 20 % *medium*, the rest *low*. Fixing them
at training time keeps a band's meaning stable when new data is scored (a
drifting population moves customers between bands instead of moving the bands).
"""

from __future__ import annotations

import numpy as np

from bundle import layout

BANDS = ("high", "medium", "low")
HIGH_SHARE = 0.10
MEDIUM_SHARE = 0.20
METHOD = "training-score quantiles: high = top 10 %, medium = next 20 %, low = the rest"


def cutoffs_from_scores(scores: np.ndarray) -> dict:
    """{high, medium, method}: a probability ≥ high is high risk, ≥ medium is medium."""
    scores = np.asarray(scores, dtype=float)
    high = float(np.quantile(scores, 1.0 - HIGH_SHARE))
    medium = float(np.quantile(scores, 1.0 - HIGH_SHARE - MEDIUM_SHARE))
    return {"high": high, "medium": min(medium, high), "method": METHOD}


def cutoffs(bundle, model: str) -> dict:
    """The model's stored cut-offs; bundles trained before they existed get them from their training scores."""
    stored = bundle.manifest["models"][model].get("risk_bands")
    if isinstance(stored, dict) and isinstance(stored.get("high"), float) and isinstance(stored.get("medium"), float):
        return stored
    customers = bundle.read_table(layout.CUSTOMERS, columns=[layout.SPLIT_COLUMN]).column(0).to_numpy(zero_copy_only=False)
    scores = bundle.read_table(layout.predictions_path(model), columns=[layout.PROBABILITY_COLUMN]).column(0).to_numpy()
    return cutoffs_from_scores(scores[customers == "train"])


def band(probability, cuts: dict):
    """'high' | 'medium' | 'low' for one probability or an array of them."""
    p = np.asarray(probability, dtype=float)
    out = np.where(p >= cuts["high"], "high", np.where(p >= cuts["medium"], "medium", "low"))
    return str(out) if out.ndim == 0 else out

"""Risk bands: the one definition of "high", "medium" and "low" churn risk.

Bands are relative to the bundle's own customers, because a retention team acts
on its riskiest customers whatever the base rate: **high** = the top 10% of
churn probabilities under a model, **medium** = the next 20%, **low** = the rest.
Training stores each model's cut-offs in the manifest (`models.<m>.risk_bands`
= {"high": p, "medium": p}: the smallest probability in each band), so the
dashboard, batch scoring of new data and reports all band customers alike.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

HIGH, MEDIUM, LOW = "high", "medium", "low"
BANDS = (HIGH, MEDIUM, LOW)
# Share of customers in each band above "low", from the riskiest down.
HIGH_SHARE = 0.10
MEDIUM_SHARE = 0.20


def band_cutoffs(probabilities: np.ndarray) -> dict[str, float]:
    """{"high": p, "medium": p}: a probability ≥ p is in that band (or a riskier one)."""
    values = np.asarray(probabilities, dtype=np.float64)
    if values.size == 0:
        return {HIGH: 1.0, MEDIUM: 1.0}
    return {
        HIGH: float(np.quantile(values, 1.0 - HIGH_SHARE)),
        MEDIUM: float(np.quantile(values, 1.0 - HIGH_SHARE - MEDIUM_SHARE)),
    }


def risk_band(probability: float, cutoffs: Mapping[str, float]) -> str:
    if probability >= cutoffs[HIGH]:
        return HIGH
    if probability >= cutoffs[MEDIUM]:
        return MEDIUM
    return LOW


def describe_bands() -> str:
    """One sentence for captions and reports."""
    return (
        f"High risk = the riskiest {HIGH_SHARE:.0%} of customers under this model, "
        f"medium = the next {MEDIUM_SHARE:.0%}, low = the rest."
    )

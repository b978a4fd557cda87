"""A reason's effect: the one quantity the Customer page, its exports and batch scoring show.

The effect of a feature for a customer is its SHAP value times the model's calibration
slope (`runtime.Calibration.effect`): the feature's share of the calibrated log-odds, so a customer's effects add up,
with the calibrated baseline, to the log-odds of the probability shown. People read it
as an odds factor, exp(effect): "odds ×3.10" means the customer's odds of churning are
3.1 times what they would be without this reason (everything else as it is). Unlike a
change in percentage points, an odds factor does not shrink to nothing where the
probability is near 0 % or 100 %, and it does not depend on the order reasons are taken
out in. Odds are p / (1 − p): at small probabilities odds ×2 is close to "twice as
likely", near 100 % it is not.
"""

from __future__ import annotations

import math

import numpy as np

MAX_REASONS = 4  # the convention of adverse-action notices in credit scoring
UNIT_HELP = (
    "Each reason's effect is an odds factor: 'odds ×3.10' means this customer's odds of churning "
    "(p / (1 − p)) are 3.1 times what they would be without that reason, everything else as it is; "
    "'odds ÷2.00' halves them. Effects multiply: together with the baseline odds they give the "
    "probability shown. They are the model's SHAP values (log-odds) times its calibration slope."
)


def odds_factor(effect: float) -> float:
    return math.exp(effect)


def format_effect(effect: float) -> str:
    """ "odds ×3.10" for an effect that raises the odds, "odds ÷2.00" for one that lowers them."""
    factor = math.exp(abs(effect))
    sign = "×" if effect >= 0 else "÷"
    if factor < 10:
        number = f"{factor:.2f}"
    elif factor < 100:
        number = f"{factor:.1f}"
    else:
        number = f"{factor:,.0f}"
    return f"odds {sign}{number}"


def shares(effect: np.ndarray) -> np.ndarray:
    """Each effect's share of the total push, |effect| / Σ |effect| (0 where there is no push)."""
    size = np.abs(np.asarray(effect, dtype=np.float64))
    total = size.sum(axis=-1, keepdims=True)
    return np.divide(size, total, out=np.zeros_like(size), where=total > 0)


def ranked(effect: np.ndarray, limit: int = MAX_REASONS) -> np.ndarray:
    """Column indices of the `limit` largest |effect| per row, largest first (stable on ties)."""
    return np.argsort(-np.abs(np.asarray(effect, dtype=np.float64)), axis=-1, kind="stable")[..., :limit]

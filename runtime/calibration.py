"""Log-odds to probability: the one sigmoid and the one calibration map.

Every probability churnlens stores or shows is `Calibration.probability(margin)`,
where the margin is the model's own log-odds (what its SHAP values add up to).
The map is Platt scaling, linear in log-odds: calibrated log-odds = slope × margin
+ intercept. Linear on purpose: SHAP values times `slope` then add up, with the
calibrated base value, to the calibrated log-odds of the probability shown, so an
explanation and the probability it explains never part. (Isotonic regression is
not linear and would leave SHAP values explaining a number the page doesn't show.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


def sigmoid(margin: np.ndarray | float) -> np.ndarray:
    """Numerically safe logistic function (no overflow for large |margin|)."""
    m = np.asarray(margin, dtype=np.float64)
    out = np.empty_like(m)
    positive = m >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-m[positive]))
    z = np.exp(m[~positive])
    out[~positive] = z / (1.0 + z)
    return out


@dataclass(frozen=True)
class Calibration:
    """Platt scaling of a model's margin; the identity (slope 1, intercept 0) is sigmoid(margin)."""

    slope: float = 1.0
    intercept: float = 0.0

    def log_odds(self, margin: np.ndarray | float) -> np.ndarray:
        """Calibrated log-odds of the probability shown."""
        return self.slope * np.asarray(margin, dtype=np.float64) + self.intercept

    def probability(self, margin: np.ndarray | float) -> np.ndarray:
        return sigmoid(self.log_odds(margin))

    def effect(self, shap: np.ndarray | float) -> np.ndarray:
        """SHAP values (model log-odds) in calibrated log-odds: they add up, with
        `log_odds(base value)`, to the calibrated log-odds of the probability shown."""
        return self.slope * np.asarray(shap, dtype=np.float64)

    @classmethod
    def from_manifest(cls, entry: Mapping) -> Calibration:
        """From a manifest's `models.<m>.calibration` record."""
        return cls(float(entry["slope"]), float(entry["intercept"]))


IDENTITY = Calibration()

"""Platt scaling of a model's margin, fitted on the validation slice of the training split.

Platt scaling is a logistic regression of the label on one feature, the model's own
log-odds (its margin): calibrated log-odds = slope × margin + intercept. It is fitted
here unregularised by Newton's method (iteratively reweighted least squares) in NumPy,
with step halving so every step lowers the log loss; two parameters need no library.

The rows are the validation slice (`training.tuning.validation_mask_column`), which no
final model was fitted on, never the test split. `calibrate` guards the fit: too few
rows, one class only, no convergence (separable margins drive the slope to infinity)
or a slope that is not positive (which would reverse the model's ranking) all give the
identity map, method "none", with `fitted_on` saying why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from runtime.calibration import sigmoid

MIN_ROWS = 50
MAX_ITERATIONS = 100
# Converged when no parameter moves by more than this in a Newton step.
STEP_TOLERANCE = 1e-10
FITTED_ON = "{rows:,} validation customers (xxhash slice of the training split); never the test split"


@dataclass(frozen=True)
class PlattFit:
    slope: float
    intercept: float
    converged: bool
    iterations: int


def _log_loss(z: np.ndarray, y: np.ndarray) -> float:
    # -[y log p + (1 - y) log(1 - p)] with p = sigmoid(z), without overflow: log(1 + e^z) - y z.
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def fit_platt(margin: np.ndarray, y: np.ndarray, max_iterations: int = MAX_ITERATIONS) -> PlattFit:
    """Maximum-likelihood (slope, intercept) of P(y = 1) = sigmoid(slope × margin + intercept)."""
    m = np.asarray(margin, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    x = np.column_stack([m, np.ones_like(m)])
    rate = float(np.clip(y.mean(), 1e-6, 1 - 1e-6)) if len(y) else 0.5
    theta = np.array([0.0, np.log(rate / (1 - rate))])  # start: the base rate, no slope
    loss = _log_loss(x @ theta, y)
    for iteration in range(1, max_iterations + 1):
        p = sigmoid(x @ theta)
        gradient = x.T @ (p - y)
        hessian = (x * (p * (1 - p))[:, None]).T @ x
        try:
            step = np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            return PlattFit(float(theta[0]), float(theta[1]), False, iteration)
        scale = 1.0
        while True:  # step halving: Newton on a logistic loss can overshoot far from the optimum
            candidate = theta - scale * step
            new_loss = _log_loss(x @ candidate, y)
            if new_loss <= loss + 1e-15 or scale < 1e-8:
                break
            scale /= 2
        moved = float(np.max(np.abs(candidate - theta)))
        theta, loss = candidate, new_loss
        if not np.all(np.isfinite(theta)):
            return PlattFit(float("nan"), float("nan"), False, iteration)
        if moved < STEP_TOLERANCE:
            return PlattFit(float(theta[0]), float(theta[1]), True, iteration)
    return PlattFit(float(theta[0]), float(theta[1]), False, max_iterations)


def identity(reason: str, rows: int = 0) -> dict:
    """The manifest record of no calibration (probability = sigmoid(margin)), saying why."""
    return {"method": "none", "slope": 1.0, "intercept": 0.0, "rows": rows, "fitted_on": reason}


def calibrate(margin: np.ndarray, y: np.ndarray, min_rows: int = MIN_ROWS) -> dict:
    """The manifest's `models.<m>.calibration` record for a model's validation margins and labels."""
    y = np.asarray(y, dtype=np.float64)
    rows = int(len(y))
    if rows < min_rows:
        return identity(f"not calibrated: {rows} validation customers, fewer than {min_rows}")
    if len(np.unique(y)) < 2:
        return identity(f"not calibrated: the {rows:,} validation customers are all of one class")
    fit = fit_platt(margin, y)
    if not fit.converged:
        return identity(f"not calibrated: the Platt fit on {rows:,} validation customers did not converge")
    if not fit.slope > 0:
        return identity(
            f"not calibrated: the Platt fit on {rows:,} validation customers gave slope {fit.slope:.3g} "
            "(not positive: it would reverse the model's ranking)"
        )
    return {
        "method": "platt",
        "slope": fit.slope,
        "intercept": fit.intercept,
        "rows": rows,
        "fitted_on": FITTED_ON.format(rows=rows),
    }

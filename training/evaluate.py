"""Test-set metrics and curves from each model's collected test predictions.

Only two numbers per test row (label, probability) reach the driver, so this
stays cheap at millions of customers; curves are thinned to a few hundred points.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import metrics

from runtime import sigmoid

MAX_CURVE_POINTS = 400


def _thin(frame: pd.DataFrame) -> pd.DataFrame:
    if len(frame) <= MAX_CURVE_POINTS:
        return frame
    keep = np.unique(np.linspace(0, len(frame) - 1, MAX_CURVE_POINTS).round().astype(int))
    return frame.iloc[keep]


def evaluate(y_true: np.ndarray, probability: np.ndarray, threshold: float = 0.5) -> dict:
    """Scalar metrics at `threshold` plus the confusion matrix."""
    y_true = np.asarray(y_true, dtype=int)
    predicted = (probability >= threshold).astype(int)
    tn, fp, fn, tp = metrics.confusion_matrix(y_true, predicted, labels=[0, 1]).ravel()
    return {
        "roc_auc": float(metrics.roc_auc_score(y_true, probability)),
        "pr_auc": float(metrics.average_precision_score(y_true, probability)),
        **probability_metrics(y_true, probability),
        "accuracy": float(metrics.accuracy_score(y_true, predicted)),
        "precision": float(metrics.precision_score(y_true, predicted, zero_division=0)),
        "recall": float(metrics.recall_score(y_true, predicted, zero_division=0)),
        "f1": float(metrics.f1_score(y_true, predicted, zero_division=0)),
        "threshold": threshold,
        "confusion": {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
        "test_rows": int(len(y_true)),
    }


def curves(model: str, y_true: np.ndarray, probability: np.ndarray) -> pd.DataFrame:
    """ROC (x=FPR, y=TPR) and PR (x=recall, y=precision) points with thresholds."""
    fpr, tpr, roc_thresholds = metrics.roc_curve(y_true, probability)
    precision, recall, pr_thresholds = metrics.precision_recall_curve(y_true, probability)
    # sklearn's first ROC threshold is +inf and PR has one more point than thresholds.
    roc = pd.DataFrame({"x": fpr, "y": tpr, "threshold": np.minimum(roc_thresholds, 1.0)})
    pr = pd.DataFrame({"x": recall, "y": precision, "threshold": np.append(pr_thresholds, 1.0)})
    return pd.concat([_thin(roc).assign(curve="roc"), _thin(pr).assign(curve="pr")], ignore_index=True).assign(
        model=model
    )[["model", "curve", "x", "y", "threshold"]]


CALIBRATION_BINS = 10
SCORE_BINS = 20


def calibration(model: str, y_true: np.ndarray, probability: np.ndarray, bins: int = CALIBRATION_BINS) -> pd.DataFrame:
    """Reliability bins on equal-width probability bins; empty bins omitted.

    A probability on an inner edge falls in the lower bin, as in scikit-learn's
    `calibration_curve(strategy="uniform")`, so the two agree bin for bin.
    """
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.searchsorted(edges[1:-1], probability)
    y_true = np.asarray(y_true, dtype=np.float64)
    count = np.bincount(index, minlength=bins)
    predicted = np.bincount(index, weights=probability, minlength=bins)
    observed = np.bincount(index, weights=y_true, minlength=bins)
    present = count > 0
    return pd.DataFrame(
        {
            "model": model,
            "bin": np.arange(bins)[present].astype(np.int32),
            "lower": edges[:-1][present],
            "upper": edges[1:][present],
            "mean_predicted": predicted[present] / count[present],
            "observed_rate": observed[present] / count[present],
            "count": count[present].astype(np.int64),
        }
    )


def expected_calibration_error(y_true: np.ndarray, probability: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Expected calibration error: over the reliability table's equal-width bins (`calibration`),
    the mean of |observed churn rate − mean predicted probability| weighted by each bin's share
    of customers, i.e. (1/N) Σ_b |Σ_{i∈b} (y_i − p_i)|. 0 is perfectly calibrated."""
    probability = np.asarray(probability, dtype=np.float64)
    if len(probability) == 0:
        return 0.0
    index = np.searchsorted(np.linspace(0.0, 1.0, bins + 1)[1:-1], probability)
    gap = np.bincount(index, weights=np.asarray(y_true, dtype=np.float64) - probability, minlength=bins)
    return float(np.abs(gap).sum() / len(probability))


def probability_metrics(y_true: np.ndarray, probability: np.ndarray) -> dict:
    """How good the probabilities are as probabilities: log loss, Brier score and ECE."""
    y_true = np.asarray(y_true, dtype=int)
    return {
        "log_loss": float(metrics.log_loss(y_true, np.clip(probability, 1e-15, 1 - 1e-15), labels=[0, 1])),
        "brier": float(metrics.brier_score_loss(y_true, probability)),
        "ece": expected_calibration_error(y_true, probability),
    }


def uncalibrated_metrics(y_true: np.ndarray, margin: np.ndarray) -> dict:
    """Test-split log loss, Brier score and ECE of sigmoid(margin), the probabilities before calibration."""
    return probability_metrics(y_true, sigmoid(margin))


def score_distribution(model: str, y_true: np.ndarray, probability: np.ndarray, bins: int = SCORE_BINS) -> pd.DataFrame:
    """Histogram of predicted probabilities per actual class: every bin of [0, 1], both labels."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    y_true = np.asarray(y_true, dtype=int)
    frames = []
    for label in (0, 1):
        counts, _ = np.histogram(probability[y_true == label], bins=edges)
        frames.append(
            pd.DataFrame(
                {
                    "model": model,
                    "label": np.int32(label),
                    "lower": edges[:-1],
                    "upper": edges[1:],
                    "count": counts.astype(np.int64),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)

"""Validation page data: every threshold-dependent metric of every model on the test split.

All metrics come from the test split's labels and each model's stored
probabilities; nothing here runs a model. A customer is *flagged* when its
probability is at or above the threshold (`p >= t`), the same rule the
manifest's per-model threshold uses.

`threshold_sweep` sorts the scores once and takes cumulative sums, which gives
the confusion matrix at every distinct score in one pass; the slider, the
profit curve and the best-threshold search all read from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bundle import layout
from bundle.manifest import model_names
from bundle.reader import Bundle
from dashboard.views.models import build_metrics_table, champion_reason

CALIBRATION_BINS = 10
SCORE_BINS = 20
# Optional tables the training side writes; older bundles lack them and the page
# computes the same figures from predictions instead.
CALIBRATION_TABLE = getattr(layout, "CALIBRATION", "evaluation/calibration.parquet")
SCORE_DISTRIBUTION_TABLE = getattr(layout, "SCORE_DISTRIBUTION", "evaluation/score_distribution.parquet")


class ThresholdError(ValueError):
    """A threshold from a URL or a box that cannot be used; the message is for the user."""


@dataclass(frozen=True)
class TestScores:
    """Test-split labels and every model's probabilities, aligned by row."""

    labels: np.ndarray  # int 0/1
    probability: dict[str, np.ndarray]


@dataclass(frozen=True)
class Costs:
    offer_cost: float  # what one retention offer costs
    saved_value: float  # what keeping one would-be churner is worth
    success_rate: float  # share of contacted churners the offer keeps (0-1)


def load_test_scores(bundle: Bundle) -> TestScores:
    """Labels and probabilities of the test split (per-customer tables share row order)."""
    customers = bundle.read_table(layout.CUSTOMERS, columns=[layout.LABEL_COLUMN, layout.SPLIT_COLUMN])
    test = customers.column(layout.SPLIT_COLUMN).to_numpy(zero_copy_only=False) == "test"
    labels = customers.column(layout.LABEL_COLUMN).to_numpy().astype(np.int64)[test]
    probability = {}
    for model in model_names(bundle.manifest):
        column = bundle.read_table(layout.predictions_path(model), columns=[layout.PROBABILITY_COLUMN])
        probability[model] = column.column(0).to_numpy().astype(np.float64)[test]
    return TestScores(labels=labels, probability=probability)


def parse_threshold(raw: object) -> float:
    """A threshold in [0, 1] from user text, or `ThresholdError` saying why not."""
    text = str(raw).strip()
    if len(text) > 32:
        raise ThresholdError("A threshold is a number between 0 and 1, such as 0.35.")
    try:
        value = float(text)
    except ValueError:
        raise ThresholdError(f"'{text}' is not a threshold: use a number between 0 and 1, such as 0.35.") from None
    if not np.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ThresholdError(f"A threshold must lie between 0 and 1; {text} does not.")
    return value


def threshold_sweep(labels: np.ndarray, probability: np.ndarray) -> pd.DataFrame:
    """Confusion counts at every distinct score used as the threshold (flag p >= threshold),
    plus the 'flag nobody' row at threshold just above the top score. Thresholds descend."""
    labels = np.asarray(labels, dtype=np.int64)
    order = np.argsort(-probability, kind="stable")
    scores = probability[order]
    hits = labels[order]
    tp_cum = np.cumsum(hits)
    fp_cum = np.cumsum(1 - hits)
    # The last position of each run of tied scores: flagging at that score flags the whole run.
    last = np.r_[np.nonzero(np.diff(scores))[0], len(scores) - 1] if len(scores) else np.array([], dtype=int)
    positives = int(labels.sum())
    negatives = len(labels) - positives
    top = float(scores[0]) if len(scores) else 1.0
    return rates_frame(
        np.r_[np.nextafter(top, np.inf), scores[last]],
        np.r_[0, tp_cum[last]].astype(np.float64),
        np.r_[0, fp_cum[last]].astype(np.float64),
        positives,
        negatives,
    )


def rates_frame(threshold: np.ndarray, tp: np.ndarray, fp: np.ndarray, positives: int, negatives: int) -> pd.DataFrame:
    """Confusion counts and rates per threshold, built from NumPy columns in one go."""
    fn, tn = positives - tp, negatives - fp
    n = positives + negatives
    with np.errstate(divide="ignore", invalid="ignore"):
        # Same convention as scikit-learn's zero_division=0: an undefined ratio reads as 0.
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
        fpr = np.where(fp + tn > 0, fp / (fp + tn), 0.0)
    return pd.DataFrame(
        {
            "threshold": threshold,
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "tn": tn,
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "fpr": fpr,
            "flagged": tp + fp,
            "flagged_share": (tp + fp) / n if n else 0.0,
        }
    )


def at_threshold(sweep: pd.DataFrame, threshold: float) -> dict[str, float]:
    """The sweep row in force at `threshold`: flagged are the scores >= threshold."""
    # Thresholds descend; the row to use is the smallest stored threshold still >= `threshold`.
    eligible = sweep[sweep["threshold"] >= threshold]
    row = eligible.iloc[-1] if len(eligible) else sweep.iloc[0]
    out = {k: float(row[k]) for k in ("tp", "fp", "tn", "fn", "precision", "recall", "f1", "fpr", "flagged_share")}
    out["threshold"] = float(threshold)
    return out


def confusion_frame(point: Mapping[str, float]) -> pd.DataFrame:
    """2x2 table: rows = what happened, columns = what the model said."""
    return pd.DataFrame(
        {
            "Flagged (predicted churn)": [int(point["tp"]), int(point["fp"])],
            "Not flagged": [int(point["fn"]), int(point["tn"])],
        },
        index=pd.Index(["Churned", "Stayed"], name="Actual"),
    )


def profit_curve(sweep: pd.DataFrame, costs: Costs) -> pd.DataFrame:
    """Expected net benefit of contacting every flagged customer, at every threshold:
    saved churners x value x success rate - flagged customers x offer cost."""
    out = sweep[["threshold", "tp", "fp", "flagged_share"]].copy()
    out["profit"] = out["tp"] * costs.success_rate * costs.saved_value - (out["tp"] + out["fp"]) * costs.offer_cost
    return out


def best_threshold(curve: pd.DataFrame) -> dict[str, float]:
    """The threshold with the highest expected benefit (ties: the higher threshold, fewer offers)."""
    best = curve.iloc[int(np.argmax(curve["profit"].to_numpy()))]
    return {
        "threshold": float(min(best["threshold"], 1.0)),
        "profit": float(best["profit"]),
        "flagged_share": float(best["flagged_share"]),
    }


def calibration_table(labels: np.ndarray, probability: np.ndarray, bins: int = CALIBRATION_BINS) -> pd.DataFrame:
    """Equal-width bins on [0, 1] (empty bins dropped): mean predicted vs observed churn rate.
    Bin edges follow scikit-learn's `calibration_curve(strategy="uniform")`."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    ids = np.searchsorted(edges[1:-1], probability)
    count = np.bincount(ids, minlength=bins)
    predicted = np.bincount(ids, weights=probability, minlength=bins)
    observed = np.bincount(ids, weights=labels, minlength=bins)
    keep = count > 0
    return pd.DataFrame(
        {
            "bin": np.arange(bins)[keep],
            "lower": edges[:-1][keep],
            "upper": edges[1:][keep],
            "mean_predicted": predicted[keep] / count[keep],
            "observed_rate": observed[keep] / count[keep],
            "count": count[keep],
        }
    )


def brier_score(labels: np.ndarray, probability: np.ndarray) -> float:
    return float(np.mean((np.asarray(probability, float) - np.asarray(labels, float)) ** 2))


def gains_table(labels: np.ndarray, probability: np.ndarray, points: int = 100) -> pd.DataFrame:
    """Cumulative gains and lift: contacting the top x% by score reaches y% of all churners;
    lift = y / x (how many times better than contacting at random)."""
    order = np.argsort(-probability, kind="stable")
    hits = np.cumsum(np.asarray(labels)[order])
    n, positives = len(order), max(int(np.sum(labels)), 1)
    shares = np.arange(1, points + 1) / points
    counts = np.maximum(np.ceil(shares * n).astype(int), 1)
    gains = hits[counts - 1] / positives
    return pd.DataFrame({"share_contacted": counts / n, "gain": gains, "lift": gains / (counts / n)})


def score_histogram(labels: np.ndarray, probability: np.ndarray, bins: int = SCORE_BINS) -> pd.DataFrame:
    """Counts of customers per score bin, separately for churners and stayers."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    ids = np.clip(np.searchsorted(edges, probability, side="right") - 1, 0, bins - 1)
    rows = []
    for label in (0, 1):
        count = np.bincount(ids[np.asarray(labels) == label], minlength=bins)
        rows.append(pd.DataFrame({"label": label, "lower": edges[:-1], "upper": edges[1:], "count": count}))
    return pd.concat(rows, ignore_index=True)


CALIBRATION_COLUMNS = [
    "Model",
    "Calibration",
    "Slope",
    "Intercept",
    "Validation rows",
    "Log loss before",
    "Log loss after",
    "Brier before",
    "Brier after",
    "ECE before",
    "ECE after",
]


def calibration_summary(manifest: Mapping) -> pd.DataFrame:
    """One row per model: its calibration map (method, slope, intercept, validation rows) and the test
    split's log loss, Brier score and expected calibration error before (sigmoid of the model's own
    log-odds) and after calibration (the stored probabilities). Empty cells where a bundle did not record
    a figure (bundles trained before calibration have no `before`)."""
    rows = []
    for model in model_names(dict(manifest)):
        entry = manifest["models"][model]
        calibration = entry.get("calibration") or {}
        before = calibration.get("before") or {}
        after = entry.get("metrics") or {}
        rows.append(
            {
                "Model": entry.get("display_name", model),
                "Calibration": "Platt scaling" if calibration.get("method") == "platt" else "none",
                "Slope": _number(calibration.get("slope")),
                "Intercept": _number(calibration.get("intercept")),
                "Validation rows": int(calibration.get("rows") or 0),
                **{
                    f"{title} {when}": _number(source.get(key))
                    for key, title in (("log_loss", "Log loss"), ("brier", "Brier"), ("ece", "ECE"))
                    for when, source in (("before", before), ("after", after))
                },
            }
        )
    return pd.DataFrame(rows, columns=CALIBRATION_COLUMNS)


def _number(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else float("nan")


@dataclass(frozen=True)
class ValidationView:
    model: str
    threshold: float
    point: dict[str, float]  # confusion + rates of `model` at `threshold`
    confusion: pd.DataFrame
    profit: pd.DataFrame  # threshold, profit, flagged_share (one row per distinct score)
    best: dict[str, float]
    current_profit: float  # expected benefit at `threshold`
    points: pd.DataFrame  # every model's ROC / PR point at `threshold`
    calibration: pd.DataFrame  # model, mean_predicted, observed_rate, count ...
    brier: dict[str, float]
    gains: pd.DataFrame  # model, share_contacted, gain, lift
    scores: pd.DataFrame  # label, lower, upper, count (chosen model)
    comparison: pd.DataFrame
    calibration_summary: pd.DataFrame  # per model: the calibration map and test metrics before/after
    champion_reason: str
    precomputed: dict[str, bool]  # which tables came from the bundle


def build_validation_view(
    manifest: dict,
    scores: TestScores,
    model: str,
    threshold: float,
    costs: Costs,
    calibration: pd.DataFrame | None = None,
    score_distribution: pd.DataFrame | None = None,
    sweeps: Mapping[str, pd.DataFrame] | None = None,
) -> ValidationView:
    """Everything the Validation page draws. `calibration` / `score_distribution` are the
    bundle's precomputed tables when it has them; otherwise they are computed here.
    `sweeps` lets a caller pass cached per-model sweeps."""
    precomputed = {"calibration": calibration is not None, "score_distribution": score_distribution is not None}
    sweeps = dict(sweeps or {})
    for m, p in scores.probability.items():
        if m not in sweeps:
            sweeps[m] = threshold_sweep(scores.labels, p)
    point = at_threshold(sweeps[model], threshold)
    profit = profit_curve(sweeps[model], costs)
    points = pd.DataFrame([{"model": m, **at_threshold(sweeps[m], threshold)} for m in scores.probability])
    if calibration is None:
        calibration = pd.concat(
            [calibration_table(scores.labels, p).assign(model=m) for m, p in scores.probability.items()],
            ignore_index=True,
        )
    if score_distribution is None:
        distribution = score_histogram(scores.labels, scores.probability[model])
    else:
        distribution = score_distribution[score_distribution["model"] == model].drop(columns="model")
    gains = pd.concat(
        [gains_table(scores.labels, p).assign(model=m) for m, p in scores.probability.items()], ignore_index=True
    )
    return ValidationView(
        model=model,
        threshold=threshold,
        point=point,
        confusion=confusion_frame(point),
        profit=profit,
        best=best_threshold(profit),
        current_profit=point["tp"] * costs.success_rate * costs.saved_value
        - (point["tp"] + point["fp"]) * costs.offer_cost,
        points=points,
        calibration=calibration,
        brier={m: brier_score(scores.labels, p) for m, p in scores.probability.items()},
        gains=gains,
        scores=distribution.reset_index(drop=True),
        comparison=build_metrics_table(manifest),
        calibration_summary=calibration_summary(manifest),
        champion_reason=champion_reason(manifest),
        precomputed=precomputed,
    )

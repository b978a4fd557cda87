"""Per-group model metrics with 95 % bootstrap intervals, computed the same way at training and on the page.

Rows are the test split's customers (a fixed sample beyond `bundle.layout.AUDIT_ROW_CAP`), each with a
label, a probability and a group. The bootstrap draws `RESAMPLES` resamples of all rows with replacement
(NumPy's PCG64 seeded with the training seed, so the page regenerates exactly the resamples training
used) and holds them as a (resamples × rows) matrix of counts: every count-based metric of every group
in every resample is then one matrix product, and ROC AUC a cumulative sum over the rows sorted once.
Intervals are the 2.5th and 97.5th percentiles of the resampled values (a resample where a group's
metric is undefined, e.g. no churner drawn, is left out of that group's interval).

A group is *too small* to say anything when it has fewer than `MIN_ROWS` rows, fewer than `MIN_CLASS`
churners or stayers, or a ROC AUC interval wider than `MAX_AUC_WIDTH`; such groups are marked, never
ranked or named. A group is *clearly worse* only where its interval excludes the whole split's value:
ROC AUC (upper bound below it), Brier score (lower bound above it) or, at the threshold, true positive
rate (upper bound below it).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

RESAMPLES = 200
CONFIDENCE = 0.95
MIN_ROWS = 50
MIN_CLASS = 5
MAX_AUC_WIDTH = 0.3
MISSING = "(missing)"

# Threshold-free metrics (stored at training) and threshold-dependent ones (computed on the page).
FIXED_METRICS = ("churn_rate", "mean_probability", "roc_auc", "brier")
THRESHOLD_METRICS = ("flag_share", "tpr", "fpr", "precision")


def bootstrap_counts(rows: int, resamples: int = RESAMPLES, seed: int = 0) -> np.ndarray:
    """(1 + resamples) × rows matrix: row 0 counts every row once (the point estimate), row b how often
    resample b drew each row."""
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, rows, size=(resamples, rows))
    offsets = (np.arange(resamples) * rows)[:, None]
    counts = np.bincount((drawn + offsets).ravel(), minlength=resamples * rows).reshape(resamples, rows)
    return np.vstack([np.ones((1, rows)), counts]).astype(np.float64)


def codes_of(groups: np.ndarray, order: list[str]) -> np.ndarray:
    """Position of each row's group in `order` (groups not listed get -1 and count nowhere)."""
    index = {name: i for i, name in enumerate(order)}
    return np.array([index.get(g, -1) for g in groups.tolist()], dtype=np.int64)


def _onehot(codes: np.ndarray, groups: int) -> np.ndarray:
    matrix = np.zeros((len(codes), groups))
    inside = codes >= 0
    matrix[np.nonzero(inside)[0], codes[inside]] = 1.0
    return matrix


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), np.nan)


def fixed_metrics(counts: np.ndarray, codes: np.ndarray, groups: int, labels: np.ndarray, probability: np.ndarray):
    """{metric: (1 + resamples) × groups} of the threshold-free metrics, plus `rows`, `positives`."""
    y = labels.astype(np.float64)
    member = _onehot(codes, groups)
    columns = np.hstack([member, member * y[:, None], member * probability[:, None]])
    columns = np.hstack([columns, member * ((probability - y) ** 2)[:, None]])
    sums = counts @ columns
    n, pos, prob, sq = (sums[:, i * groups : (i + 1) * groups] for i in range(4))
    return {
        "rows": n,
        "positives": pos,
        "churn_rate": _ratio(pos, n),
        "mean_probability": _ratio(prob, n),
        "brier": _ratio(sq, n),
        "roc_auc": grouped_auc(counts, codes, groups, labels, probability),
    }


def threshold_metrics(
    counts: np.ndarray, codes: np.ndarray, groups: int, labels: np.ndarray, probability: np.ndarray, threshold: float
) -> dict[str, np.ndarray]:
    """{metric: (1 + resamples) × groups} of the metrics at `threshold` (flagged: probability ≥ threshold)."""
    y = labels.astype(np.float64)
    flag = (probability >= threshold).astype(np.float64)
    member = _onehot(codes, groups)
    sums = counts @ np.hstack([member, member * y[:, None], member * flag[:, None], member * (flag * y)[:, None]])
    n, pos, flagged, tp = (sums[:, i * groups : (i + 1) * groups] for i in range(4))
    return {
        "flag_share": _ratio(flagged, n),
        "tpr": _ratio(tp, pos),
        "fpr": _ratio(flagged - tp, n - pos),
        "precision": _ratio(tp, flagged),
    }


def grouped_auc(
    counts: np.ndarray, codes: np.ndarray, groups: int, labels: np.ndarray, probability: np.ndarray
) -> np.ndarray:
    """ROC AUC of each group in each resample, (1 + resamples) × groups; NaN where a group drew no churner
    or no stayer. Mann–Whitney with ties counted half (what scikit-learn's roc_auc_score gives), each row
    weighted by how often the resample drew it."""
    keep = codes >= 0
    order = np.nonzero(keep)[0][np.lexsort((probability[keep], codes[keep]))]
    g, p, y = codes[order], probability[order], labels[order].astype(np.float64)
    out = np.full((counts.shape[0], groups), np.nan)
    if not len(order):
        return out
    # Runs of rows sharing group and score: ties within a run count half.
    starts = np.r_[0, np.nonzero((np.diff(g) != 0) | (np.diff(p) != 0))[0] + 1]
    weights = counts[:, order]
    pos_run = np.add.reduceat(weights * y, starts, axis=1)
    neg_run = np.add.reduceat(weights * (1 - y), starts, axis=1)
    run_group = g[starts]
    neg_before = np.cumsum(neg_run, axis=1) - neg_run  # negatives in earlier runs, any group
    first_run = np.r_[0, np.nonzero(np.diff(run_group))[0] + 1]
    neg_before -= np.repeat(neg_before[:, first_run], np.diff(np.r_[first_run, len(starts)]), axis=1)
    wins = np.add.reduceat(pos_run * (neg_before + 0.5 * neg_run), first_run, axis=1)
    pos = np.add.reduceat(pos_run, first_run, axis=1)
    neg = np.add.reduceat(neg_run, first_run, axis=1)
    present = run_group[first_run]
    out[:, present] = _ratio(wins, pos * neg)
    return out


def interval(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) over the resamples (axis -2, rows 1:) of a (..., 1 + resamples, groups) array, NaN
    resamples left out; NaN where no resample defines the metric."""
    tail = (1 - CONFIDENCE) / 2 * 100
    resampled = values[..., 1:, :]
    if not np.isnan(resampled).any():  # the common case, several times faster than nanpercentile
        lower, upper = np.percentile(resampled, [tail, 100 - tail], axis=-2)
        return lower, upper
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: NaN is the answer
        lower, upper = np.nanpercentile(resampled, [tail, 100 - tail], axis=-2)
    return lower, upper


def long_frame(metrics: dict[str, np.ndarray], names: list[str]) -> pd.DataFrame:
    """One row per group and metric: group, metric, value (the point estimate), lower, upper."""
    frames = []
    for metric, values in metrics.items():
        lower, upper = interval(values)
        frames.append(
            pd.DataFrame({"group": names, "metric": metric, "value": values[0], "lower": lower, "upper": upper})
        )
    return pd.concat(frames, ignore_index=True)


def verdicts(columns: dict[str, np.ndarray], population: dict[str, float]) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """(too small per group, the metrics each group is clearly worse on) from per-group `columns`
    (rows, positives, <metric>, <metric>_lower, <metric>_upper)."""
    rows, positives = columns["rows"], columns["positives"]
    width = columns["roc_auc_upper"] - columns["roc_auc_lower"]
    wide = ~np.isfinite(width) | (width > MAX_AUC_WIDTH)
    small = (rows < MIN_ROWS) | (positives < MIN_CLASS) | (rows - positives < MIN_CLASS) | wide
    flags = []
    for metric, lower_is_worse in (("roc_auc", True), ("brier", False), ("tpr", True)):
        if metric in population and f"{metric}_upper" in columns:
            if lower_is_worse:
                flags.append((metric, columns[f"{metric}_upper"] < population[metric]))
            else:
                flags.append((metric, columns[f"{metric}_lower"] > population[metric]))
    worse = [tuple(m for m, bad in flags if bad[i] and not small[i]) for i in range(len(rows))]
    return small, worse

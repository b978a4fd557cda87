"""Group metrics (Validation page): for whom is the model worse, and how sure is that?

Training stored the test split's rows (`layout.AUDIT_ROWS`: label, each model's probability, each
dimension's group), the threshold-free metrics per group with intervals (`layout.AUDIT_METRICS`) and
the bootstrap's seed. Here the same resamples are regenerated (`analytics.groups.bootstrap_counts`)
and the metrics that depend on the slider's threshold are computed per group with their intervals,
plus the disparity against the largest group. Nothing here runs a model.

A cohort (`analytics.cohort`, e.g. one picked from the error analysis) restricts every figure to its
rows; the threshold-free metrics are then recomputed from the rows instead of read from the table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics import groups
from analytics.cohort import Condition, cohort_mask
from bundle import layout
from bundle.reader import Bundle

RATE_METRICS = ("churn_rate", "mean_probability", "flag_share", "tpr", "fpr", "precision")
TITLES = {
    "churn_rate": "Churn rate",
    "mean_probability": "Mean predicted churn",
    "flag_share": "Flagged",
    "tpr": "True positive rate",
    "fpr": "False positive rate",
    "precision": "Precision",
    "roc_auc": "ROC AUC",
    "brier": "Brier score",
}


class AuditMissing(LookupError):
    """The bundle has no audit tables (trained before schema 5); the message is for the user."""


@dataclass(frozen=True)
class AuditData:
    """One bundle's audit tables and its regenerated bootstrap resamples, read once per run."""

    entry: dict  # manifest["audit"]
    rows: pd.DataFrame
    metrics: pd.DataFrame
    groups: pd.DataFrame
    counts: np.ndarray  # (1 + resamples) × rows, row 0 all ones
    tree: pd.DataFrame
    cohorts: pd.DataFrame

    def dimension(self, name: str) -> dict:
        return next(d for d in self.entry["dimensions"] if d["name"] == name)


def load_audit_data(bundle: Bundle) -> AuditData:
    entry = bundle.manifest["audit"]
    if not entry["measured"]:
        raise AuditMissing(
            "This bundle was trained before group metrics and error analysis existed; "
            "retrain it with this version of churnlens to see group metrics."
        )
    rows = bundle.read_table(layout.AUDIT_ROWS).to_pandas()
    bootstrap = entry["bootstrap"]
    return AuditData(
        entry=entry,
        rows=rows,
        metrics=bundle.read_table(layout.AUDIT_METRICS).to_pandas(),
        groups=bundle.read_table(layout.AUDIT_GROUPS).to_pandas(),
        counts=groups.bootstrap_counts(len(rows), bootstrap["resamples"], bootstrap["seed"]),
        tree=bundle.read_table(layout.ERROR_TREE).to_pandas(),
        cohorts=bundle.read_table(layout.ERROR_COHORTS).to_pandas(),
    )


@dataclass(frozen=True)
class GroupView:
    dimension: dict
    table: pd.DataFrame  # one row per group: figures, intervals, disparity, status (numbers, for the page)
    population: dict[str, float]  # the same metrics over every row in scope
    reference: str  # the largest group: disparities are against it
    sentence: str  # which groups are clearly worse, or that none is
    rows: int  # test rows in scope


def _scope(data: AuditData, conditions: list[Condition]) -> np.ndarray:
    return cohort_mask(data.rows, conditions) if conditions else np.ones(len(data.rows), dtype=bool)


def _wide(metrics: dict[str, np.ndarray], names: list[str]) -> pd.DataFrame:
    table = pd.DataFrame({"group": names})
    for metric, values in metrics.items():
        table[metric] = values[0]
        if metric not in ("rows", "positives"):
            table[f"{metric}_lower"], table[f"{metric}_upper"] = groups.interval(values)
    return table


def _stored(data: AuditData, model: str, dimension: str, names: list[str]) -> pd.DataFrame:
    """The threshold-free metrics training stored for `model` and `dimension`, one row per group."""
    part = data.metrics[(data.metrics["model"] == model) & (data.metrics["dimension"] == dimension)]
    table = pd.DataFrame({"group": names})
    for metric, values in part.groupby("metric"):
        indexed = values.set_index("group").reindex(names)
        table[metric] = indexed["value"].to_numpy()
        if metric not in ("rows", "positives"):
            table[f"{metric}_lower"], table[f"{metric}_upper"] = (
                indexed["lower"].to_numpy(),
                indexed["upper"].to_numpy(),
            )
    return table


def _disparity(metrics: dict[str, np.ndarray], reference: int) -> dict[str, np.ndarray]:
    """Flag-rate ratio and TPR / FPR differences of every group against group `reference`, per resample."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = metrics["flag_share"] / metrics["flag_share"][:, [reference]]
    return {
        "flag_ratio": np.where(np.isfinite(ratio), ratio, np.nan),
        "tpr_difference": metrics["tpr"] - metrics["tpr"][:, [reference]],
        "fpr_difference": metrics["fpr"] - metrics["fpr"][:, [reference]],
    }


def build_group_view(
    data: AuditData, model: str, dimension: str, threshold: float, conditions: list[Condition] | None = None
) -> GroupView:
    """Per-group metrics of `model` over `dimension` at `threshold` (within the cohort, if any)."""
    conditions = conditions or []
    entry = data.dimension(dimension)
    names = list(entry["groups"])
    scope = _scope(data, conditions)
    codes = groups.codes_of(data.rows[layout.group_column(dimension)].to_numpy(), names)
    codes = np.where(scope, codes, -1)
    labels = data.rows[layout.LABEL_COLUMN].to_numpy()
    probability = data.rows[layout.probability_column_of(model)].to_numpy()
    moving = groups.threshold_metrics(data.counts, codes, len(names), labels, probability, threshold)
    if conditions:
        fixed = _wide(groups.fixed_metrics(data.counts, codes, len(names), labels, probability), names)
    else:
        fixed = _stored(data, model, dimension, names)
    table = fixed.merge(_wide(moving, names), on="group")
    reference = int(np.argmax(table["rows"].to_numpy()))
    table = table.merge(_wide(_disparity(moving, reference), names), on="group")
    everyone = np.where(scope, 0, -1)
    population = {
        k: float(v[0, 0])
        for k, v in {
            **groups.fixed_metrics(data.counts[:1], everyone, 1, labels, probability),
            **groups.threshold_metrics(data.counts[:1], everyone, 1, labels, probability, threshold),
        }.items()
    }
    table = _with_status(table, population)
    customers = data.groups[data.groups["dimension"] == dimension].set_index("group")["customers"]
    table.insert(1, "customers", customers.reindex(names).fillna(0).astype(int).to_numpy())
    return GroupView(
        entry, table, population, names[reference], worse_sentence(table, entry["label"]), int(scope.sum())
    )


def _with_status(table: pd.DataFrame, population: dict[str, float]) -> pd.DataFrame:
    verdicts = [groups.judge(row, population) for _, row in table.iterrows()]
    table["small"] = [v.small for v in verdicts]
    table["worse_on"] = [", ".join(TITLES[m] for m in v.worse_on) for v in verdicts]
    return table


def worse_sentence(table: pd.DataFrame, dimension_label: str) -> str:
    """One sentence naming the groups clearly worse than everyone (intervals support it), or saying none is."""
    worse = table[~table["small"] & (table["worse_on"] != "")]
    small = int(table["small"].sum())
    tail = f" {small} group{'s are' if small != 1 else ' is'} too small to judge." if small else ""
    if worse.empty:
        return f"No {dimension_label} group is clearly worse than the whole test split at 95 % confidence.{tail}"
    named = "; ".join(f"{row.group} ({row.worse_on})" for row in worse.itertuples())
    return f"Clearly worse than the whole test split (95 % interval excludes its value): {named}.{tail}"


def _cell(value: float, lower: float, upper: float, percent: bool) -> str:
    if not np.isfinite(value):
        return "–"
    scale, unit, digits = (100.0, " %", 1) if percent else (1.0, "", 3)
    text = f"{value * scale:.{digits}f}{unit}"
    if np.isfinite(lower) and np.isfinite(upper):
        text += f" ({lower * scale:.{digits}f}–{upper * scale:.{digits}f})"
    return text


def _points(value: float, lower: float, upper: float) -> str:
    """A difference of two rates in percentage points, with its interval."""
    if not np.isfinite(value):
        return "–"
    text = f"{value * 100:+.1f} pp"
    return text + (f" ({lower * 100:+.1f} to {upper * 100:+.1f})" if np.isfinite(lower) and np.isfinite(upper) else "")


def display_table(view: GroupView) -> pd.DataFrame:
    """The group table as the page shows it: each figure with its 95 % interval in brackets and its unit
    in the column title; disparities against the largest group; too-small groups marked, not judged."""
    t = view.table
    out = pd.DataFrame({"Group": t["group"].astype(str), "Customers (all splits)": t["customers"]})
    out["Test customers"] = t["rows"].astype(int)
    for metric in (*RATE_METRICS, "roc_auc", "brier"):
        percent = metric in RATE_METRICS
        title = f"{TITLES[metric]} (%)" if percent else f"{TITLES[metric]} (0–1)"
        out[title] = [
            _cell(v, lo, hi, percent)
            for v, lo, hi in zip(t[metric], t[f"{metric}_lower"], t[f"{metric}_upper"], strict=True)
        ]
    ratio = zip(t["flag_ratio"], t["flag_ratio_lower"], t["flag_ratio_upper"], strict=True)
    out["Flag rate vs largest group (×)"] = [
        f"{v:.2f}×" + (f" ({lo:.2f}–{hi:.2f})" if np.isfinite(lo) and np.isfinite(hi) else "")
        if np.isfinite(v)
        else "–"
        for v, lo, hi in ratio
    ]
    for metric, title in (("tpr_difference", "TPR vs largest group"), ("fpr_difference", "FPR vs largest group")):
        out[f"{title} (pp)"] = [
            _points(v, lo, hi) for v, lo, hi in zip(t[metric], t[f"{metric}_lower"], t[f"{metric}_upper"], strict=True)
        ]
    out["Verdict"] = [
        "too small to judge" if small else (f"clearly worse: {worse}" if worse else "")
        for small, worse in zip(t["small"], t["worse_on"], strict=True)
    ]
    return out

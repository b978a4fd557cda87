"""Error analysis (Validation page): where on the test split the model goes wrong, as cohorts.

Training fitted a shallow tree per model to its errors at the model's threshold (`error`) and to the
per-row log loss (`log_loss`) and stored every node as a cohort in the cohort grammar
(`training.error_analysis`). Here each leaf cohort is re-measured on the stored test rows at the
slider's threshold (the cohorts themselves are the ones found at the model's threshold), so the list
follows the slider; its order is by the re-measured rate, worst first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.cohort import CohortError, cohort_mask, parse_cohort
from bundle import layout
from dashboard.views.audit import AuditData

_CONDITION = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(<=|>=|!=|<|>|:)(.*)$")
TARGETS = {"error": "Wrong at the threshold", "log_loss": "Log loss per customer"}
LOSS_CLIP = 1e-15


@dataclass(frozen=True)
class ErrorView:
    target: str
    threshold: float
    fitted_threshold: float  # the threshold the tree was fitted at
    overall: float  # error rate (or mean log loss) over every audit row
    cohorts: pd.DataFrame  # rank, cohort, rows, share, rate, stored_rate, ratio (rate / overall)
    tree: pd.DataFrame  # node, parent, depth, condition, cohort, rows, rate, leaf, x0, x1 (icicle layout)


def row_target(target: str, labels: np.ndarray, probability: np.ndarray, threshold: float) -> np.ndarray:
    if target == "error":
        return ((probability >= threshold).astype(int) != labels).astype(np.float64)
    p = np.clip(probability, LOSS_CLIP, 1 - LOSS_CLIP)
    return -(labels * np.log(p) + (1 - labels) * np.log(1 - p))


def _layout(tree: pd.DataFrame) -> pd.DataFrame:
    """x0 / x1 of each node for an icicle drawing: children share their parent's span by their rows."""
    tree = tree.sort_values("node").reset_index(drop=True)
    span = {int(tree.loc[tree["parent"] == -1, "node"].iloc[0]): (0.0, 1.0)}
    for node in tree.sort_values(["depth", "node"]).itertuples():
        children = tree[tree["parent"] == node.node]
        if node.node not in span or children.empty:
            continue
        x0, x1 = span[node.node]
        total = max(float(children["rows"].sum()), 1.0)
        for child in children.itertuples():
            width = (x1 - x0) * float(child.rows) / total
            span[int(child.node)] = (x0, x0 + width)
            x0 += width
    tree["x0"] = [span.get(int(n), (0.0, 0.0))[0] for n in tree["node"]]
    tree["x1"] = [span.get(int(n), (0.0, 0.0))[1] for n in tree["node"]]
    return tree


def build_error_view(data: AuditData, features: list[dict], model: str, target: str, threshold: float,
                     fitted_threshold: float) -> ErrorView:  # fmt: skip
    """The ranked cohorts and the tree of `model` for `target`, re-measured at `threshold`."""
    labels = data.rows[layout.LABEL_COLUMN].to_numpy()
    probability = data.rows[layout.probability_column_of(model)].to_numpy()
    values = row_target(target, labels, probability, threshold)
    chosen = (data.cohorts["model"] == model) & (data.cohorts["target"] == target)
    cohorts = data.cohorts[chosen].sort_values("rank").reset_index(drop=True)
    rates = []
    for text in cohorts["cohort"]:
        try:
            mask = cohort_mask(data.rows, parse_cohort(text, features))
        except CohortError:  # the stored text is the bundle's; a cohort it can't express is not offered
            mask = np.zeros(len(labels), dtype=bool)
        rates.append(float(values[mask].mean()) if mask.any() else float("nan"))
    overall = float(values.mean()) if len(values) else float("nan")
    cohorts = cohorts.rename(columns={"rate": "stored_rate"}).assign(rate=rates)
    cohorts["share"] = cohorts["rows"] / max(len(labels), 1)
    cohorts["ratio"] = cohorts["rate"] / overall if overall > 0 else np.nan
    cohorts = cohorts[cohorts["rate"].notna()].sort_values(["rate", "rows"], ascending=[False, False])
    cohorts["rank"] = np.arange(1, len(cohorts) + 1)
    tree = data.tree[(data.tree["model"] == model) & (data.tree["target"] == target)]
    return ErrorView(
        target=target,
        threshold=threshold,
        fitted_threshold=fitted_threshold,
        overall=overall,
        cohorts=cohorts.reset_index(drop=True)[["rank", "cohort", "rows", "share", "rate", "stored_rate", "ratio"]],
        tree=_layout(tree.drop(columns=["model", "target"])),
    )


def rule_in_words(cohort: str, labels: dict[str, str]) -> str:
    """'Contract is Month-to-month and Tenure (months) ≤ 12.5' from 'contract:Month-to-month;tenure<=12.5'."""
    if not cohort:
        return "Everyone"
    words = {":": " is ", "!=": " is not ", "<=": " ≤ ", ">=": " ≥ ", "<": " < ", ">": " > "}
    out = []
    for part in cohort.split(";"):
        match = _CONDITION.match(part)
        if match:  # a feature name never holds an operator, so the first one after it is the condition's
            name, op, value = match.groups()
            out.append(f"{labels.get(name, name)}{words[op]}{value}")
        else:
            out.append(part)
    return " and ".join(out)

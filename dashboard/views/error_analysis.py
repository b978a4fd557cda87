"""Error analysis (Validation page): where on the test split the model goes wrong, as cohorts.

Training fitted a shallow tree per model to its errors at the model's threshold (`error`) and to the
per-row log loss (`log_loss`) and stored every node as a cohort in the cohort grammar
(`training.error_analysis`). Here each leaf cohort is re-measured on the stored test rows at the
slider's threshold (the cohorts themselves are the ones found at the model's threshold), so the list
follows the slider; its order is by the re-measured rate, worst first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
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
        scale = (x1 - x0) / max(float(children["rows"].sum()), 1.0)
        for child in children.itertuples():
            span[int(child.node)] = (x0, x0 + scale * float(child.rows))
            x0 += scale * float(child.rows)
    tree["x0"] = [span.get(int(n), (0.0, 0.0))[0] for n in tree["node"]]
    tree["x1"] = [span.get(int(n), (0.0, 0.0))[1] for n in tree["node"]]
    return tree


@dataclass(frozen=True)
class ErrorData:
    """What does not depend on the threshold, prepared once per bundle run: each stored cohort's rows
    among the audit rows (through the cohort grammar) and each tree laid out for drawing."""

    masks: dict[str, np.ndarray]  # cohort text → its rows (none for a text the grammar refuses)
    trees: dict[tuple[str, str], pd.DataFrame]  # (model, target) → nodes with x0, x1


def error_data(data: AuditData, features: Sequence[Mapping]) -> ErrorData:
    masks = {}
    for text in dict.fromkeys(data.cohorts["cohort"].tolist()):
        try:
            masks[text] = cohort_mask(data.rows, parse_cohort(text, features))
        except CohortError:  # the stored text is the bundle's; a cohort it can't express is not offered
            masks[text] = np.zeros(len(data.rows), dtype=bool)
    trees = {
        (str(model), str(target)): _layout(part.drop(columns=["model", "target"]))
        for (model, target), part in data.tree.groupby(["model", "target"], sort=False)
    }
    return ErrorData(masks, trees)


def build_error_view(data: AuditData, errors: ErrorData, model: str, target: str, threshold: float,
                     fitted_threshold: float) -> ErrorView:  # fmt: skip
    """The ranked cohorts and the tree of `model` for `target`, re-measured at `threshold`."""
    labels = data.rows[layout.LABEL_COLUMN].to_numpy()
    probability = data.rows[layout.probability_column_of(model)].to_numpy()
    values = row_target(target, labels, probability, threshold)
    chosen = (data.cohorts["model"] == model) & (data.cohorts["target"] == target)
    cohorts = data.cohorts[chosen]
    rates = [float(values[m].mean()) if m.any() else np.nan for m in (errors.masks[c] for c in cohorts["cohort"])]
    overall = float(values.mean()) if len(values) else float("nan")
    table = pd.DataFrame(
        {
            "cohort": cohorts["cohort"].to_numpy(),
            "rows": cohorts["rows"].to_numpy(),
            "share": cohorts["rows"].to_numpy() / max(len(labels), 1),
            "rate": rates,
            "stored_rate": cohorts["rate"].to_numpy(),
        }
    )
    table["ratio"] = table["rate"] / overall if overall > 0 else np.nan
    table = table[table["rate"].notna()].sort_values(["rate", "rows"], ascending=[False, False], kind="stable")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return ErrorView(
        target=target,
        threshold=threshold,
        fitted_threshold=fitted_threshold,
        overall=overall,
        cohorts=table.reset_index(drop=True),
        tree=errors.trees[(model, target)],
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

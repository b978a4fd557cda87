"""Error analysis: where on the test split a model goes wrong, as cohorts a reader can apply.

Per model, two shallow scikit-learn trees on the audit rows (the test split, sampled beyond
`layout.AUDIT_ROW_CAP`): a DecisionTreeClassifier on whether the model is wrong at its threshold
(`error`), and a DecisionTreeRegressor on each row's log loss (`log_loss`). Depth at most `MAX_DEPTH`,
leaves of at least `min_leaf(rows)` rows, `random_state` the training seed. Inputs are the model's own
encoded slots (numbers with missing values at the training fill, one 0/1 column per category).

Each node's path is written in the cohort grammar (`analytics.cohort`: `contract:Month-to-month;
tenure<=12.5`), and its rows and rate are measured by applying that text to the raw rows, so what the
page shows for a cohort is exactly what the stored numbers say (a row whose value is missing on a
numeric condition's feature belongs to no cohort with that condition). Leaves are ranked by their
rate, worst first. Stored as tables (JSON-safe numbers and text), never as a pickled tree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from analytics.cohort import CohortError, cohort_mask, parse_cohort
from runtime import encode_rows

MAX_DEPTH = 4
MIN_LEAF_ROWS = 30
MIN_LEAF_SHARE = 0.02
LOSS_CLIP = 1e-15


def min_leaf(rows: int) -> int:
    """Fewest rows in a leaf: 2 % of the rows, at least MIN_LEAF_ROWS."""
    return max(MIN_LEAF_ROWS, int(np.ceil(MIN_LEAF_SHARE * rows)))


def row_loss(labels: np.ndarray, probability: np.ndarray) -> np.ndarray:
    p = np.clip(probability, LOSS_CLIP, 1 - LOSS_CLIP)
    return -(labels * np.log(p) + (1 - labels) * np.log(1 - p))


def _edge(slot: dict, kind: str, threshold: float, left: bool) -> str:
    """The condition of the edge to the left (value ≤ threshold) or right child, in the cohort grammar."""
    name = slot["feature"]
    if slot["kind"] == "onehot":
        return f"{name}!={slot['category']}" if left else f"{name}:{slot['category']}"
    if kind == "binary":
        return f"{name}:No" if left else f"{name}:Yes"
    cut = float(f"{threshold:.6g}")  # sklearn splits halfway between two values: 6 digits keep the side
    return f"{name}<={cut:g}" if left else f"{name}>{cut:g}"


_PART = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(<=|>=|!=|<|>|:)")


def _tightest(cohort: str, condition: str) -> list[str]:
    """`cohort`'s conditions plus `condition`, dropping the ones it makes redundant: a deeper split on the
    same number in the same direction is the tighter bound, and `feature:value` implies `feature!=other`."""
    match = _PART.match(condition)
    name, op = match.groups() if match else ("", "")
    kept = []
    for part in filter(None, cohort.split(";")):
        other = _PART.match(part)
        if other and op and other.group(1) == name:
            before = other.group(2)
            if (op[0] in "<>" and before[0] == op[0]) or (op == ":" and before == "!="):
                continue
        kept.append(part)
    return [*kept, condition]


def _nodes(tree, slots: list[dict], kinds: dict[str, str]) -> list[dict]:
    """Every node with its parent, depth, the edge condition from its parent and its full cohort."""
    t = tree.tree_
    # (node, parent, depth, condition, cohort); the list grows while walked: breadth first.
    walked: list[tuple[int, int, int, str, str]] = [(0, -1, 0, "", "")]
    for i, _, depth, _, path in walked:
        if t.children_left[i] == -1:
            continue
        slot = slots[int(t.feature[i])]
        for child, left in ((t.children_left[i], True), (t.children_right[i], False)):
            condition = _edge(slot, kinds.get(slot["feature"], "numeric"), float(t.threshold[i]), left)
            walked.append((int(child), i, depth + 1, condition, ";".join(_tightest(path, condition))))
    return [dict(zip(("node", "parent", "depth", "condition", "cohort"), node, strict=True)) for node in walked]


def _measure(
    nodes: list[dict], raw: pd.DataFrame, target: np.ndarray, features: Sequence[Mapping], tree
) -> pd.DataFrame:
    frame = pd.DataFrame(nodes)
    sizes, rates = [], []
    for text in frame["cohort"]:
        try:
            mask = cohort_mask(raw, parse_cohort(text, features))
        except CohortError:  # a category the grammar can't write (e.g. holding ';'): no cohort to offer
            mask = np.zeros(len(raw), dtype=bool)
        sizes.append(int(mask.sum()))
        rates.append(float(target[mask].mean()) if mask.any() else float("nan"))
    frame["rows"], frame["rate"] = sizes, rates
    frame["leaf"] = [bool(tree.tree_.children_left[n] == -1) for n in frame["node"]]
    return frame


def analyse(
    raw: pd.DataFrame, labels: np.ndarray, probability: np.ndarray, threshold: float, slots: list[dict],
    features: Sequence[Mapping], seed: int,
) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:  # fmt: skip
    """{target: (tree nodes, ranked leaves)} for one model; `features` are the manifest's entries."""
    x = encode_rows(raw, slots)
    kinds = {f["name"]: f["type"] for f in features}
    leaf = min_leaf(len(raw))
    wrong = ((probability >= threshold).astype(int) != labels).astype(np.float64)
    targets = {"error": wrong, "log_loss": row_loss(labels, probability)}
    out = {}
    for target, y in targets.items():
        if target == "error":
            model = DecisionTreeClassifier(max_depth=MAX_DEPTH, min_samples_leaf=leaf, random_state=seed)
        else:
            model = DecisionTreeRegressor(max_depth=MAX_DEPTH, min_samples_leaf=leaf, random_state=seed)
        model.fit(x, y.astype(int) if target == "error" else y)
        tree = _measure(_nodes(model, slots, kinds), raw, y, features, model)
        ranked = tree[tree["leaf"] & (tree["rows"] > 0)].sort_values(["rate", "rows"], ascending=[False, False])
        cohorts = ranked[["node", "cohort", "rows", "rate"]].reset_index(drop=True)
        cohorts.insert(0, "rank", np.arange(1, len(cohorts) + 1))
        cohorts["overall"] = float(y.mean()) if len(y) else float("nan")
        out[target] = (tree, cohorts)
    return out

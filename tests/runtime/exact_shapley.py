"""An independent reference for tree SHAP: exact Shapley values by enumerating every feature subset.

Plain NumPy and JSON only (no shap, no XGBoost, no Spark here): the tests hand
in each library's own description of its trees (Spark's `toDebugString`,
XGBoost's JSON model, scikit-learn's node array) and this module rebuilds the
trees, recounts their covers from the training rows and computes

    v(S) = offset + Σ_trees E[f_tree(x) | x_S]

with the path-dependent expectation (an unknown feature's split is averaged
over its children, weighted by cover), then the Shapley values of v by the
subset formula. That is the quantity path-dependent TreeSHAP computes in
polynomial time; here it is computed the slow, obviously-correct way, so it
can only agree with the runtime if the runtime's trees *and covers* are right.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

LEAF = -1


@dataclass(frozen=True)
class Tree:
    """One regression tree; node 0 is the root, `left[i] == LEAF` marks a leaf."""

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray  # leaf outputs, already in the ensemble's log-odds units
    cover: np.ndarray  # the covers the tree's own file records (what the runtime uses)
    strict: bool  # True: x < threshold goes left (XGBoost); False: x <= threshold (Spark, scikit-learn)


def goes_left(tree: Tree, node: int, x: np.ndarray) -> bool:
    value = x[tree.feature[node]]
    return bool(value < tree.threshold[node]) if tree.strict else bool(value <= tree.threshold[node])


def leaf_of(tree: Tree, x: np.ndarray) -> int:
    node = 0
    while tree.left[node] != LEAF:
        node = tree.left[node] if goes_left(tree, node, x) else tree.right[node]
    return int(node)


def predict(trees: list[Tree], x: np.ndarray, offset: float = 0.0) -> np.ndarray:
    """Margin of each row of `x`: offset + the sum of the trees' leaf values."""
    return np.array([offset + sum(t.value[leaf_of(t, row)] for t in trees) for row in x])


def recount_covers(tree: Tree, x: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Σ weight of the training rows reaching each node (weights: 1 per row, or XGBoost's hessians)."""
    weights = np.ones(len(x)) if weights is None else weights
    covers = np.zeros(len(tree.left))
    for row, weight in zip(x, weights, strict=True):
        node = 0
        covers[node] += weight
        while tree.left[node] != LEAF:
            node = tree.left[node] if goes_left(tree, node, row) else tree.right[node]
            covers[node] += weight
    return covers


def expectation(tree: Tree, covers: np.ndarray, x: np.ndarray, known: np.ndarray, node: int = 0) -> float:
    """E[f(x) | the features in `known`], path-dependent: unknown splits follow both children by cover."""
    if tree.left[node] == LEAF:
        return float(tree.value[node])
    left, right = int(tree.left[node]), int(tree.right[node])
    if known[tree.feature[node]]:
        return expectation(tree, covers, x, known, left if goes_left(tree, node, x) else right)
    both = covers[left] * expectation(tree, covers, x, known, left) + covers[right] * expectation(
        tree, covers, x, known, right
    )
    return float(both / covers[node])


def exact_shapley(
    trees: list[Tree], covers: list[np.ndarray], x: np.ndarray, offset: float = 0.0
) -> tuple[np.ndarray, float]:
    """(Shapley value per feature, v(∅)) for one row, by enumerating all 2^M feature subsets."""
    m = len(x)
    if m > 12:
        raise ValueError(f"{m} features: 2^{m} subsets is too many for an exhaustive reference")
    value = np.empty(2**m)
    for subset in range(2**m):
        known = np.array([(subset >> j) & 1 == 1 for j in range(m)])
        value[subset] = offset + sum(expectation(t, c, x, known) for t, c in zip(trees, covers, strict=True))
    phi = np.zeros(m)
    for j in range(m):
        for subset in range(2**m):
            if (subset >> j) & 1:
                continue
            size = bin(subset).count("1")
            weight = math.factorial(size) * math.factorial(m - size - 1) / math.factorial(m)
            phi[j] += weight * (value[subset | (1 << j)] - value[subset])
    return phi, float(value[0])


def pairs(a: Tree, b: Tree) -> Iterator[tuple[int, int]]:
    """Matching nodes of two descriptions of the same tree, whatever their node numbering.

    Fails (AssertionError) where the two disagree on shape, split feature or threshold."""
    stack = [(0, 0)]
    while stack:
        i, j = stack.pop()
        assert (a.left[i] == LEAF) == (b.left[j] == LEAF), f"node {i} vs {j}: one is a leaf, the other is not"
        yield i, j
        if a.left[i] != LEAF:
            assert a.feature[i] == b.feature[j], f"node {i} vs {j}: split feature {a.feature[i]} vs {b.feature[j]}"
            assert a.threshold[i] == b.threshold[j], f"node {i} vs {j}: threshold {a.threshold[i]} vs {b.threshold[j]}"
            stack += [(int(a.left[i]), int(b.left[j])), (int(a.right[i]), int(b.right[j]))]


def _tree(nodes: list[dict], strict: bool) -> Tree:
    """A Tree from node dicts (keys left, right, feature, threshold, value, cover)."""

    def column(key: str, dtype: type) -> np.ndarray:
        return np.array([n[key] for n in nodes], dtype=dtype)

    return Tree(
        left=column("left", np.int64),
        right=column("right", np.int64),
        feature=column("feature", np.int64),
        threshold=column("threshold", np.float64),
        value=column("value", np.float64),
        cover=column("cover", np.float64),
        strict=strict,
    )


_SPLIT = re.compile(r"^\s*If \(feature (\d+) <= (\S+)\)$")
_LEAF = re.compile(r"^\s*Predict: (\S+)$")


def trees_from_spark_debug_string(text: str, tree_weights: list[float], scale: float) -> list[Tree]:
    """Spark GBT trees from `GBTClassificationModel.toDebugString` (continuous splits only).

    Leaf value = Spark's prediction × the tree's weight × `scale` (log-odds per raw unit).
    The debug string records no covers: `cover` is NaN, and the tests recount them."""
    blocks = re.split(r"^\s*Tree \d+ \(weight \S+\):$", text, flags=re.MULTILINE)[1:]
    assert len(blocks) == len(tree_weights), f"{len(blocks)} trees in the debug string, {len(tree_weights)} weights"
    trees = []
    for block, weight in zip(blocks, tree_weights, strict=True):
        lines = [line for line in block.splitlines() if line.strip() and not line.strip().startswith("Else")]
        nodes: list[dict] = []
        _parse_spark_node(iter(lines), nodes, weight * scale)
        trees.append(_tree(nodes, strict=False))
    return trees


def _parse_spark_node(lines: Iterator[str], nodes: list[dict], factor: float) -> int:
    line = next(lines)
    index = len(nodes)
    node = {"left": LEAF, "right": LEAF, "feature": -1, "threshold": np.nan, "value": np.nan, "cover": np.nan}
    nodes.append(node)
    if leaf := _LEAF.match(line):
        node["value"] = float(leaf.group(1)) * factor
        return index
    split = _SPLIT.match(line)
    assert split, f"unexpected line in Spark's debug string (categorical split?): {line!r}"
    node["feature"], node["threshold"] = int(split.group(1)), float(split.group(2))
    node["left"] = _parse_spark_node(lines, nodes, factor)
    node["right"] = _parse_spark_node(lines, nodes, factor)
    return index


def trees_from_shap_arrays(spec: dict) -> list[Tree]:
    """The exported trees.json (shap's array form): leaf values × `scale`, covers as exported."""
    scale = float(spec.get("scale", 1.0))
    trees = []
    for t in spec["trees"]:
        nodes = [
            {
                "left": LEAF if t["children_left"][i] < 0 else t["children_left"][i],
                "right": LEAF if t["children_right"][i] < 0 else t["children_right"][i],
                "feature": t["features"][i],
                "threshold": t["thresholds"][i],
                "value": float(np.ravel(t["values"][i])[0]) * scale,
                "cover": t["node_sample_weight"][i],
            }
            for i in range(len(t["children_left"]))
        ]
        trees.append(_tree(nodes, strict=False))
    return trees


def trees_from_xgboost_json(model: dict) -> tuple[list[Tree], float]:
    """(trees, base margin) from XGBoost's JSON model (`Booster.save_raw("json")`), binary:logistic."""
    learner = model["learner"]
    objective = learner["objective"]["name"]
    assert objective == "binary:logistic", f"the reference reads binary:logistic boosters, not {objective}"
    base_score = float(str(learner["learner_model_param"]["base_score"]).strip("[]"))
    trees = []
    for t in learner["gradient_booster"]["model"]["trees"]:
        nodes = [
            {
                "left": LEAF if t["left_children"][i] < 0 else t["left_children"][i],
                "right": LEAF if t["right_children"][i] < 0 else t["right_children"][i],
                "feature": t["split_indices"][i],
                # A leaf's output is stored in split_conditions (learning rate applied).
                "threshold": t["split_conditions"][i],
                "value": t["split_conditions"][i],
                "cover": t["sum_hessian"][i],
            }
            for i in range(len(t["left_children"]))
        ]
        trees.append(_tree(nodes, strict=True))
    return trees, math.log(base_score / (1.0 - base_score))


HGB_FIELDS = ("value", "count", "feature_idx", "num_threshold", "left", "right", "is_leaf", "is_categorical")


def trees_from_hgb_nodes(node_arrays: list[np.ndarray]) -> list[Tree]:
    """Trees from scikit-learn HGB's per-tree node arrays (`TreePredictor.nodes`, a private structure:
    the assertion below names any field a scikit-learn upgrade renames or drops)."""
    trees = []
    for nodes in node_arrays:
        missing = [f for f in HGB_FIELDS if f not in (nodes.dtype.names or ())]
        assert not missing, f"scikit-learn's TreePredictor.nodes lacks {missing}: update the reference parser"
        assert not nodes["is_categorical"].any(), "the reference handles numeric splits only"
        leaf = nodes["is_leaf"].astype(bool)
        trees.append(
            Tree(
                left=np.where(leaf, LEAF, nodes["left"].astype(np.int64)),
                right=np.where(leaf, LEAF, nodes["right"].astype(np.int64)),
                feature=nodes["feature_idx"].astype(np.int64),
                threshold=nodes["num_threshold"].astype(np.float64),
                value=nodes["value"].astype(np.float64),
                cover=nodes["count"].astype(np.float64),
                strict=False,
            )
        )
    return trees

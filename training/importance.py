"""Permutation importance on the test split: how much ROC AUC drops when one
feature's values are shuffled across test customers.

Runs on the driver through `runtime` (the same kernels the explain stage
and the dashboard use), on every test row (collected from Spark by `test_sample`)
or on a deterministic sample of `MAX_ROWS` of them when the test split is larger
(driver memory: at most `MAX_ROWS` rows × features). The
rows are encoded once; permuting a feature moves all of its slots together,
which is the same as shuffling the raw column and encoding again. ROC AUC is
taken on the margins: the calibration map (slope > 0) never reorders customers,
so the drops are those of the calibrated probabilities.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from bundle import layout
from runtime import Kernel, encode_rows

REPEATS = 5
MAX_ROWS = 20_000


def test_sample(table, feature_names: list[str], test_rows: int, seed: int, limit: int = MAX_ROWS) -> pd.DataFrame:
    """Test customers' label and raw features, sorted by ID: all of them up to `limit`, else a
    deterministic sample of `limit` (ordered by xxhash64(seed, customer_id)). `table` is the
    Spark table with the split column."""
    from pyspark.sql import functions as F

    test = table.where(F.col(layout.SPLIT_COLUMN) == "test")
    if test_rows > limit:
        test = test.orderBy(F.xxhash64(F.lit(seed + 71), F.col(layout.ID_COLUMN)), layout.ID_COLUMN).limit(limit)
    columns = [layout.ID_COLUMN, layout.LABEL_COLUMN, *feature_names]
    frame = test.select(*(F.col(f"`{c}`") for c in columns)).toPandas()
    return frame.sort_values(layout.ID_COLUMN, kind="stable").reset_index(drop=True)


def permutation_drops(
    kernel: Kernel, x: np.ndarray, y: np.ndarray, slots_of: dict[str, list[int]], repeats: int, seed: int
) -> dict[str, np.ndarray]:
    """Feature → the ROC AUC drop of each repeat (baseline AUC minus permuted AUC)."""
    baseline = roc_auc_score(y, kernel.margin(x))
    rng = np.random.default_rng(seed)
    drops = {}
    for feature, slots in slots_of.items():
        values = np.empty(repeats)
        for r in range(repeats):
            shuffled = x.copy()
            shuffled[:, slots] = x[rng.permutation(len(x))][:, slots]
            values[r] = baseline - roc_auc_score(y, kernel.margin(shuffled))
        drops[feature] = values
    return drops


def permutation_importance(
    kernels: dict[str, Kernel],
    test_rows: pd.DataFrame,
    y: np.ndarray,
    encoding: list[dict],
    feature_names: list[str],
    seed: int,
    repeats: int = REPEATS,
) -> pd.DataFrame:
    """Rows: model, feature, mean_drop, std_drop, repeats (the table `evaluation/permutation_importance.parquet`)."""
    if len(test_rows) > MAX_ROWS:
        picks = np.sort(np.random.default_rng(seed).choice(len(test_rows), MAX_ROWS, replace=False))
        test_rows, y = test_rows.iloc[picks], y[picks]
    x = encode_rows(test_rows, encoding)
    slots_of = {f: [i for i, s in enumerate(encoding) if s["feature"] == f] for f in feature_names}
    records = []
    for model, kernel in kernels.items():
        # Same permutations for every model, so their importances compare like for like.
        for feature, drops in permutation_drops(kernel, x, y, slots_of, repeats, seed).items():
            records.append(
                {
                    "model": model,
                    "feature": feature,
                    "mean_drop": float(drops.mean()),
                    "std_drop": float(drops.std(ddof=1) if repeats > 1 else 0.0),
                    "repeats": repeats,
                }
            )
    frame = pd.DataFrame.from_records(records)
    return frame.astype({"repeats": np.int32})

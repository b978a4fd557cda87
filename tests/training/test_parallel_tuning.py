"""Grid points fitted side by side choose the same model, with the same scores, as one at a time."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.ml.linalg import Vectors, VectorUDT
from pyspark.sql import types as T

from bundle import layout
from training import tuning
from training.features import FEATURES_COLUMN
from training.models import sklearn_hgb, spark_ml


def _rows(n: int = 400, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(x[:, 0] - 0.8 * x[:, 1] + 0.5 * x[:, 2] * x[:, 3])))).astype(int)
    return x, y


def test_scores_equal_to_12_digits_tie_and_the_first_point_wins():
    grid = [({"a": 1}, 0.8583951231111789, 1.0), ({"a": 2}, 0.8583951231111782, 1.0), ({"a": 3}, 0.5, 1.0)]
    assert tuning.best_index(grid) == 0 and tuning.best_index(grid[::-1][1:]) == 0
    assert tuning.best_index(grid, lower_is_better=True) == 2


def test_fit_threads_never_exceed_points_or_cores():
    assert [tuning.fit_threads(p, c) for p, c in ((2, 2), (1, 8), (24, 2), (3, 0))] == [2, 1, 2, 1]


def test_gbt_grid_fitted_two_at_a_time_picks_the_same_model(spark):
    x, y = _rows()
    frame = spark.createDataFrame(
        [(i, int(label), Vectors.dense(row.tolist())) for i, (row, label) in enumerate(zip(x, y, strict=True))],
        T.StructType(
            [
                T.StructField(layout.ID_COLUMN, T.LongType()),
                T.StructField(layout.LABEL_COLUMN, T.IntegerType()),
                T.StructField(FEATURES_COLUMN, VectorUDT()),
            ]
        ),
    ).cache()
    params = {**spark_ml.GBT_PARAMS, "maxIter": 8}
    fixed = {"maxIter": 8}
    one = spark_ml._tune_gbt(frame, 42, params, "quick", fixed, threads=1)
    two = spark_ml._tune_gbt(frame, 42, params, "quick", fixed, threads=2)
    assert "2 at a time" in two[2]["method"] and "1 at a time" in one[2]["method"]
    # Spark's evaluator may sum partitions in another order: the same model's AUC within 1e-12.
    assert [p["score"] for p in one[2]["grid"]] == pytest.approx([p["score"] for p in two[2]["grid"]], rel=1e-12)
    trees = [model.toDebugString.split("\n", 1)[1] for model in (one[0], two[0])]  # line 1 names the uid
    assert one[1] == two[1] and trees[0] == trees[1]
    # The wide grid stops boosting on the validation slice: a 120-tree point keeps fewer trees.
    wide = spark_ml._tune_gbt(frame, 42, spark_ml.GBT_PARAMS, "full", {"maxDepth": 2, "stepSize": 0.2}, threads=2)
    assert [p["params"]["maxIter"] for p in wide[2]["grid"]] == [60, 120]
    assert all(p["params"]["trees"] < p["params"]["maxIter"] for p in wide[2]["grid"])
    assert wide[1]["maxIter"] == wide[0].getNumTrees and "early stopping" in wide[2]["method"]
    frame.unpersist()


@pytest.mark.parametrize("threads", [2, 4])
def test_sklearn_grid_fitted_side_by_side_picks_the_same_model(threads):
    x, y = _rows(600)
    valid = np.arange(len(y)) % 5 == 0
    base = {**sklearn_hgb.SKLEARN_PARAMS, "max_iter": 30}
    one = sklearn_hgb._search(x, y, valid, base, 42, "quick", {}, threads=1)
    many = sklearn_hgb._search(x, y, valid, base, 42, "quick", {}, threads=threads)
    assert one[0] == many[0]
    assert [p["score"] for p in one[2]["grid"]] == [p["score"] for p in many[2]["grid"]]
    assert np.array_equal(one[1].decision_function(x), many[1].decision_function(x))

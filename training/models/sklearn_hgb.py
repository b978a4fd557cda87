"""scikit-learn's HistGradientBoostingClassifier, fitted on the driver, scored on Spark.

The model sees exactly what the Spark models see: the encoded slot vectors of
the training split. They are collected to the driver once, which costs
rows × slots × 8 bytes (float64) of driver memory — Telco: 5,634 × 30 × 8 ≈ 1.4 MB;
a million customers with 50 slots ≈ 400 MB — so set `spark.driver.memory`
accordingly for large data. The fitted model is saved with skops (no pickle) and
broadcast once to the explain stage, where `runtime`'s "sklearn_hgb" kind scores
and explains every customer inside the same `mapInArrow` pass as the other models.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pyarrow.compute as pc
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from bundle import layout
from training import tuning
from training.features import FEATURES_COLUMN
from training.models.base import Family, FittedModel, Reference

# No internal early stopping: it would carve its own random validation rows and
# make the fit depend on more than (rows, params, seed).
SKLEARN_PARAMS = {
    "max_iter": 200,
    "learning_rate": 0.05,
    "max_leaf_nodes": 15,
    "max_depth": 4,
    "min_samples_leaf": 20,
    "l2_regularization": 0.0,
    "early_stopping": False,
}


def collect_training_rows(train: DataFrame, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x slots, y, is_validation) of the training split, on the driver, in customer-ID order."""
    table = (
        tuning.with_validation_column(train, seed)
        .select(
            layout.ID_COLUMN,
            vector_to_array(F.col(FEATURES_COLUMN)).alias("x"),
            F.col(layout.LABEL_COLUMN).cast("int").alias("y"),
            tuning.VALIDATION_COLUMN,
        )
        .toArrow()
        .sort_by(layout.ID_COLUMN)
    )
    x_column = table.column("x").combine_chunks()
    width = len(x_column[0]) if len(x_column) else 0
    x = np.asarray(pc.list_flatten(x_column).to_numpy(zero_copy_only=False), dtype=np.float64)
    return (
        x.reshape(len(table), width),
        table.column("y").to_numpy(),
        table.column(tuning.VALIDATION_COLUMN).to_numpy(zero_copy_only=False).astype(bool),
    )


def _fit(x: np.ndarray, y: np.ndarray, params: dict, seed: int) -> HistGradientBoostingClassifier:
    # One OpenMP thread: the driver shares its cores with Spark's executors, and
    # oversubscribed OpenMP threads spin-wait (a 1,200-row fit slowed ~100x).
    with threadpool_limits(limits=1, user_api="openmp"):
        return HistGradientBoostingClassifier(random_state=seed, **params).fit(x, y)


def _search(
    x: np.ndarray,
    y: np.ndarray,
    valid: np.ndarray,
    base: dict,
    seed: int,
    mode: str,
    fixed: dict,
    threads: int | None = None,
) -> tuple[dict, HistGradientBoostingClassifier, dict]:
    """(best point, its model fitted on training minus validation, tuning record); no refit.
    Points are fitted one per driver core at once, each on one OpenMP thread (`_fit`): its
    histogram loops release the GIL, and Spark's executors are idle while the driver fits."""
    points = tuning.grid_points("sklearn", mode, fixed)
    threads = threads or tuning.fit_threads(len(points), len(os.sched_getaffinity(0)))

    def fit(point: dict) -> tuple[float, HistGradientBoostingClassifier]:
        model = _fit(x[~valid], y[~valid], {**base, **point}, seed)
        return float(roc_auc_score(y[valid], model.decision_function(x[valid]))), model

    scored, models = tuning.fit_grid(points, fit, threads)
    i = tuning.best_index(scored)
    best = scored[i][0]
    record = tuning.record(
        f"grid search, each point fitted on the training rows minus the validation rows, {threads} at a time "
        "(a point's seconds overlap the others'); the best point's model is the model (no refit: the "
        "validation rows stay unseen for calibration)",
        tuning.VALIDATION_RULE,
        scored,
        {**base, **best},
    )
    return best, models[i], record


def fit_sklearn(train: DataFrame, seed: int, overrides: dict | None = None, tuning_mode: str = "off") -> FittedModel:
    import skops.io

    fixed = overrides or {}
    params = {**SKLEARN_PARAMS, **fixed}
    started = time.perf_counter()
    x, y, valid = collect_training_rows(train, seed)
    extra = {}
    # Fitted on the training rows minus the validation slice (kept for calibration); on a table
    # too small for a slice with both classes on each side, on every training row.
    usable = len(np.unique(y[valid])) == 2 and len(np.unique(y[~valid])) == 2
    if not usable:
        valid = np.zeros_like(valid)
    if tuning_mode != "off" and usable:
        best, model, extra["tuning"] = _search(x, y, valid, params, seed, tuning_mode, fixed)
        params = {**params, **best}
    else:
        model = _fit(x[~valid], y[~valid], params, seed)
    seconds = time.perf_counter() - started
    return FittedModel(
        name="sklearn",
        family="sklearn.ensemble.HistGradientBoostingClassifier",
        display_name="Histogram gradient boosting (scikit-learn)",
        params=params,
        training_seconds=seconds,
        runtime="sklearn_hgb",
        portable={"model.skops": skops.io.dumps(model)},
        reference=REFERENCE,
        extra={**extra, "driver_training_rows": int((~valid).sum())},
    )


REFERENCE = Reference("scikit-learn decision_function on Spark PipelineModel slots")
FAMILY = Family(fit_sklearn, lambda directory: REFERENCE)

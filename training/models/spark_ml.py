"""Spark ML LogisticRegression and GBTClassifier.

Spark fits them, on the training rows minus the validation slice
(`training.tuning.fit_rows`: the slice stays unseen for calibration); `runtime`
scores them (kinds "linear" and "tree"). Their own `transform` is the parity
reference, reloaded from the bundle for batch scoring.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from pyspark.ml.classification import (
    GBTClassificationModel,
    GBTClassifier,
    LogisticRegression,
    LogisticRegressionModel,
)
from pyspark.ml.evaluation import BinaryClassificationEvaluator
from pyspark.ml.stat import Summarizer
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bundle import layout
from training import tuning
from training.features import FEATURES_COLUMN
from training.models.base import Family, FittedModel, Reference

LOGISTIC_PARAMS = {"maxIter": 200, "regParam": 0.001, "elasticNetParam": 0.0, "standardization": True}
GBT_PARAMS = {"maxIter": 60, "maxDepth": 3, "stepSize": 0.1, "subsamplingRate": 0.8, "minInstancesPerNode": 5}


def _spark_save(model, directory: Path) -> dict[str, str]:
    model.write().overwrite().save(str(directory / "spark"))
    return {"spark": "spark"}


def _logistic_reference(model: LogisticRegressionModel) -> Reference:
    return Reference("Spark LogisticRegressionModel.transform", model)


def _gbt_reference(model: GBTClassificationModel) -> Reference:
    # rawPrediction[1] of a Spark GBT is half the log-odds.
    return Reference("Spark GBTClassificationModel.transform", model, scale=2.0)


def fit_logistic(train: DataFrame, seed: int, overrides: dict | None = None, tuning_mode: str = "off") -> FittedModel:
    params = {**LOGISTIC_PARAMS, **(overrides or {})}
    started = time.perf_counter()
    rows = tuning.fit_rows(train, seed)
    model = LogisticRegression(featuresCol=FEATURES_COLUMN, labelCol=layout.LABEL_COLUMN, **params).fit(rows)
    seconds = time.perf_counter() - started
    coef = model.coefficients.toArray()
    # Exact linear SHAP against the distribution it was fitted on: phi_j = w_j (x_j - E[x_j]).
    mean = rows.select(Summarizer.mean(F.col(FEATURES_COLUMN)).alias("m")).collect()[0]["m"].toArray()

    linear = {"coefficients": coef.tolist(), "intercept": float(model.intercept), "feature_means": mean.tolist()}
    return FittedModel(
        name="logistic",
        family="spark_ml.LogisticRegression",
        display_name="Logistic regression (Spark ML)",
        params=params,
        training_seconds=seconds,
        runtime="linear",
        portable={"linear.json": json.dumps(linear).encode()},
        reference=_logistic_reference(model),
        save_native=lambda directory: _spark_save(model, directory),
    )


def _gbt(params: dict, seed: int, **more) -> GBTClassifier:
    return GBTClassifier(featuresCol=FEATURES_COLUMN, labelCol=layout.LABEL_COLUMN, seed=seed, **params, **more)


# Stop rule for the wide ("full") grid: Spark's own early stopping on the validation slice
# (`validationIndicatorCol`): boosting stops once an iteration lowers the slice's log loss by less
# than `validationTol` (Spark's default 0.01, relative). The trees are still grown on the training
# rows minus the slice. "quick" keeps its fixed 60 trees, so default bundles do not change.
EARLY_STOPPING_MODES = ("full",)


def _tune_gbt(
    train: DataFrame, seed: int, params: dict, mode: str, fixed: dict, threads: int | None = None
) -> tuple[GBTClassificationModel, dict, dict]:
    """Every grid point fitted on the training rows minus the validation rows and scored by ROC AUC
    on those, as many at once as Spark has cores; returns (the best point's model, its parameters,
    tuning record). No refit on all training rows."""
    rows, valid = tuning.fit_rows(train, seed), tuning.validation_rows(train, seed)
    flagged = tuning.with_validation_column(train, seed) if mode in EARLY_STOPPING_MODES else None
    points = tuning.grid_points("gbt", mode, fixed)
    threads = threads or tuning.fit_threads(len(points), train.sparkSession.sparkContext.defaultParallelism)

    def fit(point: dict) -> tuple[float, GBTClassificationModel]:
        evaluator = BinaryClassificationEvaluator(
            labelCol=layout.LABEL_COLUMN, rawPredictionCol="rawPrediction", metricName="areaUnderROC"
        )
        if flagged is None:
            model = _gbt({**params, **point}, seed).fit(rows)
        else:
            model = _gbt({**params, **point}, seed, validationIndicatorCol=tuning.VALIDATION_COLUMN).fit(flagged)
        return float(evaluator.evaluate(model.transform(valid))), model

    scored, models = tuning.fit_grid(points, fit, threads)
    stopping = ""
    if flagged is not None:
        scored = [({**p, "trees": m.getNumTrees}, s, t) for (p, s, t), m in zip(scored, models, strict=True)]
        stopping = " with early stopping on the validation rows' log loss (Spark's validationTol)"
    i = tuning.best_index(scored)
    best = {**params, **{k: v for k, v in scored[i][0].items() if k != "trees"}}
    if flagged is not None:
        best["maxIter"] = scored[i][0]["trees"]  # the trees the model has
    record = tuning.record(
        f"grid search; each point fitted with Spark ML on the training rows minus the validation rows{stopping} "
        f"and scored on them, {threads} at a time (Spark jobs from {threads} driver threads; a point's seconds "
        "overlap the others'); the best point's model is the model (no refit: the validation rows stay "
        "unseen for calibration)",
        tuning.VALIDATION_RULE,
        scored,
        best,
    )
    return models[i], best, record


def fit_gbt(train: DataFrame, seed: int, overrides: dict | None = None, tuning_mode: str = "off") -> FittedModel:
    import shap  # heavy import, only where needed

    fixed = overrides or {}
    params = {**GBT_PARAMS, **fixed}
    extra = {}
    started = time.perf_counter()
    if tuning.grid_points("gbt", tuning_mode, fixed) != [{}]:
        model, params, extra["tuning"] = _tune_gbt(train, seed, params, tuning_mode, fixed)
    else:
        model = _gbt(params, seed).fit(tuning.fit_rows(train, seed))
    seconds = time.perf_counter() - started
    # shap parses the JVM trees once, on the driver; workers get plain arrays.
    ensemble = shap.TreeExplainer(model).model
    trees = [
        {
            key: getattr(tree, key)
            for key in (
                "children_left",
                "children_right",
                "children_default",
                "features",
                "thresholds",
                "values",
                "node_sample_weight",
            )
        }
        for tree in ensemble.trees
    ]
    portable = {
        "trees": [{k: np.asarray(v).tolist() for k, v in t.items()} for t in trees],
        "base_offset": float(np.ravel(ensemble.base_offset)[0]),
        "scale": 2.0,
    }

    return FittedModel(
        name="gbt",
        family="spark_ml.GBTClassifier",
        display_name="Gradient-boosted trees (Spark ML)",
        params=params,
        training_seconds=seconds,
        runtime="tree",
        portable={"trees.json": json.dumps(portable).encode()},
        reference=_gbt_reference(model),
        save_native=lambda directory: _spark_save(model, directory),
        extra=extra,
    )


LOGISTIC = Family(
    fit_logistic, lambda directory: _logistic_reference(LogisticRegressionModel.load(str(directory / "spark")))
)
GBT = Family(fit_gbt, lambda directory: _gbt_reference(GBTClassificationModel.load(str(directory / "spark"))))

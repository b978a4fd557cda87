"""Spark ML LogisticRegression and GBTClassifier.

Spark fits them; `runtime` scores them (kinds "linear" and "tree"). Their own
`transform` is the parity reference, reloaded from the bundle for batch scoring.
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
from pyspark.ml.tuning import ParamGridBuilder, TrainValidationSplit
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
    model = LogisticRegression(featuresCol=FEATURES_COLUMN, labelCol=layout.LABEL_COLUMN, **params).fit(train)
    seconds = time.perf_counter() - started
    coef = model.coefficients.toArray()
    # Exact linear SHAP against the training distribution: phi_j = w_j (x_j - E[x_j]).
    mean = train.select(Summarizer.mean(F.col(FEATURES_COLUMN)).alias("m")).collect()[0]["m"].toArray()

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


def _tune_gbt(train: DataFrame, seed: int, params: dict, mode: str, fixed: dict):
    """TrainValidationSplit over a ParamGridBuilder grid; returns (best model refitted on all of train,
    its parameters, tuning record)."""
    estimator = GBTClassifier(featuresCol=FEATURES_COLUMN, labelCol=layout.LABEL_COLUMN, seed=seed, **params)
    builder = ParamGridBuilder()
    for name, values in tuning.GRIDS["gbt"].get(mode, {}).items():
        if name not in fixed:
            builder = builder.addGrid(estimator.getParam(name), values)
    grid = builder.build()
    search = TrainValidationSplit(
        estimator=estimator,
        estimatorParamMaps=grid,
        evaluator=BinaryClassificationEvaluator(labelCol=layout.LABEL_COLUMN, metricName="areaUnderROC"),
        trainRatio=1.0 - tuning.VALIDATION_FRACTION,
        seed=seed,
        parallelism=2,
    ).fit(train)
    scored = [
        ({p.name: v for p, v in point.items()}, float(s))
        for point, s in zip(grid, search.validationMetrics, strict=True)
    ]
    best = {**params, **tuning.best_of(scored)}
    record = tuning.record(
        "Spark ML TrainValidationSplit over a ParamGridBuilder grid; the best point refitted on all training rows",
        f"TrainValidationSplit's seeded random split of the training rows "
        f"({tuning.VALIDATION_FRACTION:.0%} validation); the test split is not used",
        scored,
        best,
    )
    return search.bestModel, best, record


def fit_gbt(train: DataFrame, seed: int, overrides: dict | None = None, tuning_mode: str = "off") -> FittedModel:
    import shap  # heavy import, only where needed

    fixed = overrides or {}
    params = {**GBT_PARAMS, **fixed}
    extra = {}
    started = time.perf_counter()
    if tuning.grid_points("gbt", tuning_mode, fixed) != [{}]:
        model, params, extra["tuning"] = _tune_gbt(train, seed, params, tuning_mode, fixed)
    else:
        model = GBTClassifier(featuresCol=FEATURES_COLUMN, labelCol=layout.LABEL_COLUMN, seed=seed, **params).fit(train)
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

"""XGBoost trained on Spark (xgboost.spark), saved as UBJSON."""

from __future__ import annotations

import time
from pyspark.sql import DataFrame
from xgboost.spark import SparkXGBClassifier

from bundle import layout
from training.features import FEATURES_COLUMN
from training.models import FittedModel

XGBOOST_PARAMS = {
    "n_estimators": 300,
    "max_depth": 3,
    "learning_rate": 0.05,
    "subsample": 0.9,
    "min_child_weight": 2.0,
    "reg_lambda": 1.0,
}


def fit_xgboost(train: DataFrame, seed: int, overrides: dict | None = None) -> FittedModel:
    params = {**XGBOOST_PARAMS, **(overrides or {})}
    # Barrier training needs one task slot per worker; never ask for more than exist.
    workers = max(1, min(2, train.sparkSession.sparkContext.defaultParallelism))
    estimator = SparkXGBClassifier(
        features_col=FEATURES_COLUMN,
        label_col=layout.LABEL_COLUMN,
        num_workers=workers,
        random_state=seed,
        verbosity=0,
        verbose=False,
        **params,
    )
    started = time.perf_counter()
    model = estimator.fit(train.repartition(workers))
    seconds = time.perf_counter() - started
    raw = bytes(model.get_booster().save_raw("ubj"))
    return FittedModel(
        name="xgboost",
        family="xgboost.spark.SparkXGBClassifier",
        display_name="XGBoost",
        params={**params, "num_workers": workers},
        training_seconds=seconds,
        runtime="xgboost",
        portable={"model.ubj": raw},
        transformer=model,
    )

"""XGBoost trained on Spark (xgboost.spark), saved as UBJSON.

With tuning on, every grid point trains on the training rows minus the hashed
validation slice (`training.tuning`) and stops early on that slice's log loss
(ROC AUC stopped a 5,000-row table after 14 trees at learning rate 0.05, with
probabilities squeezed into 0.08-0.58: ROC AUC plateaus long before the
probabilities are right, log loss does not); the best point (lowest validation
log loss) has its booster cut at its best iteration, and that is the model.
With tuning off, the default parameters train on the same rows without early
stopping. Either way the slice stays unseen for the calibration stage. Its margins
and SHAP values come from `runtime` (kind "xgboost") in the explain stage, so the
trees scored are exactly the trees saved; xgboost.spark only fits.
"""

from __future__ import annotations

import time

from pyspark.sql import DataFrame
from xgboost.spark import SparkXGBClassifier

from bundle import layout
from training import tuning
from training.features import FEATURES_COLUMN
from training.models.base import Family, FittedModel, Reference

XGBOOST_PARAMS = {
    "n_estimators": 300,
    "max_depth": 3,
    "learning_rate": 0.05,
    "subsample": 0.9,
    "min_child_weight": 2.0,
    "reg_lambda": 1.0,
}
EARLY_STOPPING_ROUNDS = 20
EVAL_METRIC = "logloss"  # early stopping watches validation log loss


def _estimator(train: DataFrame, seed: int, params: dict, **more) -> tuple[SparkXGBClassifier, int]:
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
        **more,
    )
    return estimator, workers


def _search(train: DataFrame, seed: int, params: dict, mode: str, fixed: dict):
    """Early-stopped fits over the grid; returns (best booster cut at its best iteration, params, record)."""
    flagged = tuning.with_validation_column(train, seed)
    scored, boosters = [], []
    for point in tuning.grid_points("xgboost", mode, fixed):
        started = time.perf_counter()
        estimator, workers = _estimator(
            train,
            seed,
            {**params, **point},
            validation_indicator_col=tuning.VALIDATION_COLUMN,
            early_stopping_rounds=EARLY_STOPPING_ROUNDS,
            eval_metric=EVAL_METRIC,
        )
        booster = estimator.fit(flagged.repartition(workers)).get_booster()
        best_iteration = int(booster.attr("best_iteration"))
        score = float(booster.attr("best_score"))
        scored.append(({**point, "best_iteration": best_iteration}, score, time.perf_counter() - started))
        boosters.append(booster[: best_iteration + 1])
    # Log loss: lower is better.
    i = tuning.best_index(scored, lower_is_better=True)
    best, chosen = scored[i][0], boosters[i]
    best_params = {
        **params,
        **{k: v for k, v in best.items() if k != "best_iteration"},
        "n_estimators": best["best_iteration"] + 1,
    }
    record = tuning.record(
        f"grid search; each point trained on the training rows minus the validation rows with early stopping "
        f"({EARLY_STOPPING_ROUNDS} rounds without a lower validation log loss); the point with the lowest "
        "validation log loss wins and its trees up to its best iteration are the model",
        tuning.VALIDATION_RULE,
        scored,
        best_params,
        metric="log_loss",
    )
    return chosen, best_params, record


def fit_xgboost(train: DataFrame, seed: int, overrides: dict | None = None, tuning_mode: str = "off") -> FittedModel:
    fixed = overrides or {}
    params = {**XGBOOST_PARAMS, **fixed}
    extra = {}
    started = time.perf_counter()
    if tuning.grid_points("xgboost", tuning_mode, fixed) != [{}]:
        booster, params, extra["tuning"] = _search(train, seed, params, tuning_mode, fixed)
    else:
        estimator, workers = _estimator(train, seed, params)
        booster = estimator.fit(tuning.fit_rows(train, seed).repartition(workers)).get_booster()
    seconds = time.perf_counter() - started
    workers = max(1, min(2, train.sparkSession.sparkContext.defaultParallelism))
    return FittedModel(
        name="xgboost",
        family="xgboost.spark.SparkXGBClassifier",
        display_name="XGBoost",
        params={**params, "num_workers": workers},
        training_seconds=seconds,
        runtime="xgboost",
        portable={"model.ubj": bytes(booster.save_raw("ubj"))},
        reference=REFERENCE,
        extra=extra,
    )


# xgboost.spark's own transform would score every row again in a second Python pass; the
# booster's predict on Spark's encoding checks the encoder at no extra pass.
REFERENCE = Reference("XGBoost Booster.predict(output_margin=True) on Spark PipelineModel slots")
FAMILY = Family(fit_xgboost, lambda directory: REFERENCE)

"""Stage "train <model>": each configured family fits one model (Spark, xgboost.spark or the driver)."""

from __future__ import annotations

from pyspark.sql import DataFrame

from training.models import FittedModel, families
from training.stages.timings import Timings


def fit_models(
    train: DataFrame, models: tuple[str, ...], params: dict[str, dict], seed: int, tuning: str, timings: Timings
) -> list[FittedModel]:
    fits = families()
    fitted = []
    for name in models:
        with timings.stage(f"train {name}"):
            fitted.append(fits[name](train, seed, params.get(name), tuning_mode=tuning))
    return fitted

"""Small real models for the runtime's explanation tests: every family fitted by the project's own
fitters (training.models) on a few hundred rows of four raw features (six model input slots).

The rows are raw customers (a number, a money amount, a yes/no flag, a three-way
category) encoded by the runtime encoder, so the same models serve the exact-Shapley
tests (slot level) and the LIME tests (raw-feature level). Numbers are multiples
of 1/16: exact in float32, so XGBoost's float32 split comparisons and the
reference's float64 ones cannot disagree on any row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession

from runtime import ModelRuntime, build_kernel, encode_rows, grouping_matrix
from training.models import FittedModel

ROWS = 400
CONTRACTS = ("Month-to-month", "One year", "Two year")
FEATURES: list[dict] = [
    {"name": "tenure", "type": "numeric", "label": "Tenure (months)"},
    {"name": "charges", "type": "numeric", "label": "Monthly charges ($)"},
    {"name": "partner", "type": "binary", "label": "Has a partner"},
    {"name": "contract", "type": "categorical", "label": "Contract", "categories": list(CONTRACTS)},
]
NAMES = [f["name"] for f in FEATURES]
ENCODING: list[dict] = [
    {"feature": "tenure", "kind": "numeric", "fill": 24.0},
    {"feature": "charges", "kind": "numeric", "fill": 70.0},
    {"feature": "partner", "kind": "numeric", "fill": 0.0},
    *({"feature": "contract", "kind": "onehot", "category": c} for c in CONTRACTS),
]
MANIFEST = {"features": FEATURES, "encoding": ENCODING}
# Few, shallow trees: the exhaustive reference stays fast, and every tree still splits several slots.
SMALL = {
    "logistic": {"maxIter": 30},
    "gbt": {"maxIter": 4, "maxDepth": 3, "subsamplingRate": 1.0},
    "xgboost": {"n_estimators": 4, "max_depth": 3, "learning_rate": 0.3, "subsample": 1.0},
    "sklearn": {"max_iter": 4, "max_depth": 3, "max_leaf_nodes": 6},
}


@dataclass(frozen=True)
class Training:
    raw: pd.DataFrame  # raw feature values, one row per customer
    x: np.ndarray  # the encoded input slots the models were fitted on
    y: np.ndarray


def raw_customers(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "tenure": np.round(rng.uniform(0, 72, rows) * 16) / 16,
            "charges": np.round(rng.uniform(20, 120, rows) * 16) / 16,
            "partner": rng.integers(0, 2, rows),
            "contract": rng.choice(CONTRACTS, rows, p=[0.5, 0.25, 0.25]),
        }
    )


def churn_margin(raw: pd.DataFrame) -> np.ndarray:
    contract = raw["contract"].map({"Month-to-month": 1.5, "One year": 0.0, "Two year": -1.5}).to_numpy()
    return (
        -2.0 * (raw["tenure"].to_numpy() - 36) / 36
        + 2.0 * (raw["charges"].to_numpy() - 70) / 50
        - 1.2 * raw["partner"].to_numpy()
        + contract
    )


@pytest.fixture(scope="session")
def training() -> Training:
    raw = raw_customers(ROWS, seed=7)
    rng = np.random.default_rng(8)
    y = (rng.uniform(size=ROWS) < 1.0 / (1.0 + np.exp(-churn_margin(raw)))).astype(np.int64)
    return Training(raw=raw, x=encode_rows(raw, ENCODING), y=y)


SEED = 11


@pytest.fixture(scope="session")
def fitted_on(spark: SparkSession, training: Training) -> np.ndarray:
    """The slots every fitter was fitted on: the training rows minus the hashed validation slice
    (`training.tuning.fit_rows`), which the calibration stage keeps unseen."""
    from training import tuning

    ids = spark.createDataFrame([(f"c{i:04d}",) for i in range(len(training.x))], ["customer_id"])
    kept = ids.orderBy("customer_id").select((~tuning.validation_mask_column(SEED)).alias("kept")).collect()
    mask = np.array([row["kept"] for row in kept], dtype=bool)
    assert 0 < (~mask).sum() < len(mask)  # a slice was held out
    return training.x[mask]


@pytest.fixture(scope="session")
def fit(spark: SparkSession, training: Training) -> Callable[[str], FittedModel]:
    """fit(family) -> FittedModel, each family fitted once per session by its own fitter on Spark."""
    from pyspark.ml.linalg import Vectors

    from training.models import families

    frame = spark.createDataFrame(
        [
            (f"c{i:04d}", int(label), Vectors.dense(row.tolist()))
            for i, (row, label) in enumerate(zip(training.x, training.y, strict=True))
        ],
        ["customer_id", "label", "features"],
    ).cache()  # every fitter passes over it many times; rebuilding it from Python rows each time was most of the cost

    @cache
    def fitted(family: str) -> FittedModel:
        return families()[family](frame, SEED, SMALL[family])

    return fitted


def model_runtime(fitted: FittedModel) -> ModelRuntime:
    """The dashboard's view of a fitted model: its kernel over this data's raw features."""
    kernel = build_kernel(fitted.runtime, fitted.portable)
    _, base = kernel.contributions(np.zeros((1, len(ENCODING))))
    return ModelRuntime(
        model=fitted.name,
        kind=fitted.runtime,
        kernel=kernel,
        encoding=ENCODING,
        features=NAMES,
        grouping=grouping_matrix(ENCODING, NAMES),
        base_value=float(base[0]),
    )

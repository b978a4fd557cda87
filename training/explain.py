"""Score every customer and compute SHAP values for every model, in batch on Spark.

Spark-native models score with their own transformers. Each model's portable
files (coefficients, trees, an XGBoost booster as UBJSON) are broadcast once;
`mapInPandas` explains whole Arrow batches with `bundle.runtime`, the same code
the dashboard runs on single rows, and each Python worker builds a kernel once
per broadcast and reuses it. SHAP values of one-hot slots are summed back to the
feature they encode, so every model's explanations are in the features a user
knows, in log-odds.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import numpy as np
import pandas as pd
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from training.features import FEATURES_COLUMN
from training.models import FittedModel

_WORKER_KERNELS: dict[str, object] = {}


def slot_columns(n_slots: int) -> list[str]:
    return [f"_slot{i}" for i in range(n_slots)]


def with_slot_columns(encoded: DataFrame, n_slots: int) -> DataFrame:
    """Replace the vector column by one double column per slot (cheap in Arrow)."""
    array = vector_to_array(F.col(FEATURES_COLUMN))
    return encoded.select("*", *(array[i].alias(name) for i, name in enumerate(slot_columns(n_slots)))).drop(
        FEATURES_COLUMN
    )


def probability_column(model: str) -> str:
    return f"{model}__probability"


def margin_column(model: str) -> str:
    return f"{model}__margin"


def shap_column(model: str, feature: str) -> str:
    return f"{model}__shap__{feature}"


def explain_batches(
    batches: Iterator[pd.DataFrame],
    specs: dict[str, object],
    grouping: np.ndarray,
    feature_names: list[str],
    passthrough: list[str],
) -> Iterator[pd.DataFrame]:
    """Worker side: SHAP (and, for models Spark does not score, margins) through `bundle.runtime`."""
    from bundle.runtime import build_kernel, sigmoid

    slots = slot_columns(grouping.shape[0])
    for batch in batches:
        x = batch[slots].to_numpy(dtype=np.float64)
        out = {name: batch[name] for name in passthrough}
        for model, broadcast in specs.items():
            spec = broadcast.value
            if spec["token"] not in _WORKER_KERNELS:
                _WORKER_KERNELS[spec["token"]] = build_kernel(spec["kind"], spec["files"])
            kernel = _WORKER_KERNELS[spec["token"]]
            if spec["scores"]:
                margin = kernel.margin(x)
                out[margin_column(model)] = margin
                out[probability_column(model)] = sigmoid(margin)
            phi, _ = kernel.contributions(x)
            grouped = phi @ grouping
            for j, feature in enumerate(feature_names):
                out[shap_column(model, feature)] = grouped[:, j]
        yield pd.DataFrame(out)


def shap_frame(
    slotted: DataFrame,
    models: list[FittedModel],
    grouping: np.ndarray,
    feature_names: list[str],
    passthrough: list[str],
    scored_by_spark: set[str],
) -> DataFrame:
    """`slotted` (from `with_slot_columns`) → passthrough columns + SHAP per model and feature,
    plus probability and margin of the models Spark did not score."""
    sc = slotted.sparkSession.sparkContext
    # The token lets a reused Python worker keep one kernel per broadcast.
    specs = {
        m.name: sc.broadcast(
            {"kind": m.runtime, "files": m.portable, "scores": m.name not in scored_by_spark, "token": uuid.uuid4().hex}
        )
        for m in models
    }
    fields = [slotted.schema[name] for name in passthrough]
    for m in models:
        if m.name not in scored_by_spark:
            fields += [
                T.StructField(probability_column(m.name), T.DoubleType(), False),
                T.StructField(margin_column(m.name), T.DoubleType(), False),
            ]
        fields += [T.StructField(shap_column(m.name, f), T.DoubleType(), False) for f in feature_names]
    return slotted.mapInPandas(
        lambda batches: explain_batches(batches, specs, grouping, feature_names, passthrough),
        schema=T.StructType(fields),
    )


def score(encoded: DataFrame, models: list[FittedModel]) -> DataFrame:
    """Each Spark-native model's own probability and log-odds for every row, as plain columns."""
    scored = encoded
    for model in models:
        if model.transformer is None:
            continue
        transformed = model.transformer.transform(scored)
        scored = transformed.select(
            *scored.columns,
            vector_to_array(F.col("probability"))[1].alias(probability_column(model.name)),
            (vector_to_array(F.col("rawPrediction"))[1] * F.lit(model.margin_scale)).alias(margin_column(model.name)),
        )
    return scored


def score_and_explain(
    encoded: DataFrame,
    models: list[FittedModel],
    grouping: np.ndarray,
    feature_names: list[str],
    keep: list[str],
) -> DataFrame:
    """`keep` columns + every model's probability, margin and per-feature SHAP."""
    scored = score(encoded, models)
    passthrough = keep + [
        c for m in models if m.transformer is not None for c in (probability_column(m.name), margin_column(m.name))
    ]
    slotted = with_slot_columns(scored.select(*passthrough, FEATURES_COLUMN), grouping.shape[0])
    spark_scored = {m.name for m in models if m.transformer is not None}
    return shap_frame(slotted, models, grouping, feature_names, passthrough, spark_scored)

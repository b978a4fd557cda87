"""Score every customer and compute SHAP values for every model, in batch on Spark.

Spark-native models score with their own transformers. Each model's portable
files (coefficients, trees, an XGBoost booster as UBJSON) are broadcast once;
`mapInArrow` explains whole Arrow batches with `runtime.core`, the same code
the dashboard runs on single rows, and each Python worker builds a kernel once
per broadcast and reuses it. SHAP values of one-hot slots are summed back to the
feature they encode, so every model's explanations are in the features a user
knows, in log-odds.

Arrow rather than pandas batches: the encoded slots arrive as one list column
whose values are a single buffer (a zero-copy (rows x slots) matrix), and the
columns passed through (IDs, raw features, Spark's own scores) go back to the
JVM untouched instead of round-tripping through pandas objects.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from training.features import FEATURES_COLUMN
from training.models import FittedModel

_WORKER_KERNELS: dict[str, object] = {}

SLOTS_COLUMN = "_slots"  # the encoded input slots of a row, as array<double>


def with_slot_array(encoded: DataFrame) -> DataFrame:
    """Replace the vector column by the same values as an array<double> column (`SLOTS_COLUMN`)."""
    return encoded.withColumn(SLOTS_COLUMN, vector_to_array(F.col(FEATURES_COLUMN))).drop(FEATURES_COLUMN)


def slot_matrix(column: pa.Array | pa.ChunkedArray, n_slots: int) -> np.ndarray:
    """(rows x slots) float64 matrix of a list<double> column; no copy for a plain batch."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    values = column.flatten().to_numpy(zero_copy_only=False)
    if len(values) != len(column) * n_slots:
        raise ValueError(f"expected {n_slots} slots per row, got {len(values)} values for {len(column)} rows")
    return values.reshape(len(column), n_slots)


def probability_column(model: str) -> str:
    return f"{model}__probability"


def margin_column(model: str) -> str:
    return f"{model}__margin"


def shap_column(model: str, feature: str) -> str:
    return f"{model}__shap__{feature}"


def explain_batches(
    batches: Iterator[pa.RecordBatch],
    specs: dict[str, object],
    grouping: np.ndarray,
    feature_names: list[str],
    passthrough: list[str],
) -> Iterator[pa.RecordBatch]:
    """Worker side: SHAP (and, for models Spark does not score, margins) through `runtime.core`."""
    from runtime.core import build_kernel, sigmoid

    for batch in batches:
        x = slot_matrix(batch.column(SLOTS_COLUMN), grouping.shape[0])
        names = list(passthrough)
        arrays = [batch.column(name) for name in passthrough]
        for model, broadcast in specs.items():
            spec = broadcast.value
            if spec["token"] not in _WORKER_KERNELS:
                _WORKER_KERNELS[spec["token"]] = build_kernel(spec["kind"], spec["files"])
            kernel = _WORKER_KERNELS[spec["token"]]
            if spec["scores"]:
                margin = np.asarray(kernel.margin(x), dtype=np.float64)
                names += [probability_column(model), margin_column(model)]
                arrays += [pa.array(sigmoid(margin)), pa.array(margin)]
            phi, _ = kernel.contributions(x)
            grouped = np.asarray(phi @ grouping, dtype=np.float64)
            names += [shap_column(model, feature) for feature in feature_names]
            arrays += [pa.array(np.ascontiguousarray(grouped[:, j])) for j in range(len(feature_names))]
        yield pa.RecordBatch.from_arrays(arrays, names=names)


def shap_frame(
    slotted: DataFrame,
    models: list[FittedModel],
    grouping: np.ndarray,
    feature_names: list[str],
    passthrough: list[str],
    scored_by_spark: set[str],
) -> DataFrame:
    """`slotted` (from `with_slot_array`) → passthrough columns + SHAP per model and feature,
    plus probability and margin of the models Spark did not score (columns in that order)."""
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
    return slotted.mapInArrow(
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
    slotted = with_slot_array(scored.select(*passthrough, FEATURES_COLUMN))
    spark_scored = {m.name for m in models if m.transformer is not None}
    return shap_frame(slotted, models, grouping, feature_names, passthrough, spark_scored)

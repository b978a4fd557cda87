"""The Spark ML feature pipeline and the map from model input slots to features.

What each feature type becomes (imputer, indexer + one-hot, slots) is defined
once in `training/feature_types.py`; this module assembles it. Unseen
categories encode as all zeros. The slot map lets SHAP values of one-hot slots
be summed back to the feature a user knows.
"""

from __future__ import annotations

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.feature import ImputerModel, StringIndexerModel, VectorAssembler
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from training import feature_types as ft
from training.datasets import DatasetSpec
from training.spark import one_row

FEATURES_COLUMN = "features"


def build_pipeline(spec: DatasetSpec) -> Pipeline:
    features = list(spec.features)
    stages = ft.spark_stages(features)
    stages.append(VectorAssembler(inputCols=ft.assembler_inputs(features), outputCol=FEATURES_COLUMN))
    return Pipeline(stages=stages)


def encoding_slots(model: PipelineModel, spec: DatasetSpec) -> list[dict]:
    """One entry per model input slot, in slot order (the bundle's `encoding`)."""
    fills: dict[str, float] = {}
    levels: dict[str, list[str]] = {}
    for stage in model.stages:
        if isinstance(stage, ImputerModel):
            fills.update({k: float(v) for k, v in one_row(stage.surrogateDF).asDict().items()})
        elif isinstance(stage, StringIndexerModel):
            levels.update(zip(stage.getInputCols(), stage.labelsArray, strict=True))
    return ft.slot_entries(list(spec.features), fills, levels)


def encode(model: PipelineModel, table: DataFrame) -> DataFrame:
    """Apply the fitted pipeline; drop vector metadata so tree learners see every
    slot as continuous (Spark would otherwise use categorical splits that SHAP
    cannot read)."""
    encoded = model.transform(table)
    return encoded.withColumn(FEATURES_COLUMN, F.col(FEATURES_COLUMN).alias(FEATURES_COLUMN, metadata={}))

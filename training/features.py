"""The Spark ML feature pipeline and the map from model input slots to features.

Numeric and binary columns are imputed; categorical columns are indexed and
one-hot encoded (unseen categories encode as all zeros). The slot map lets
SHAP values of one-hot slots be summed back to the feature a user knows.
"""

from __future__ import annotations

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.feature import Imputer, OneHotEncoder, StringIndexer, VectorAssembler
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from training.datasets import DatasetSpec

FEATURES_COLUMN = "features"


def _imputed(name: str) -> str:
    return f"{name}__imputed"


def build_pipeline(spec: DatasetSpec) -> Pipeline:
    numeric, binary, categorical = spec.of_type("numeric"), spec.of_type("binary"), spec.of_type("categorical")
    stages = []
    if numeric:
        stages.append(Imputer(inputCols=numeric, outputCols=[_imputed(c) for c in numeric], strategy="median"))
    if binary:
        stages.append(Imputer(inputCols=binary, outputCols=[_imputed(c) for c in binary], strategy="mode"))
    if categorical:
        stages.append(
            StringIndexer(
                inputCols=categorical,
                outputCols=[f"{c}__index" for c in categorical],
                handleInvalid="keep",
                stringOrderType="frequencyDesc",
            )
        )
        # dropLast drops the "unseen category" slot that handleInvalid="keep" adds.
        stages.append(
            OneHotEncoder(inputCols=[f"{c}__index" for c in categorical], outputCols=[f"{c}__onehot" for c in categorical])
        )
    inputs = [_imputed(c) for c in numeric + binary] + [f"{c}__onehot" for c in categorical]
    stages.append(VectorAssembler(inputCols=inputs, outputCol=FEATURES_COLUMN))
    return Pipeline(stages=stages)


def encoding_slots(model: PipelineModel, spec: DatasetSpec) -> list[dict]:
    """One entry per model input slot, in slot order (the bundle's `encoding`)."""
    fills: dict[str, float] = {}
    labels: dict[str, list[str]] = {}
    for stage in model.stages:
        if type(stage).__name__ == "ImputerModel":
            fills.update({k: float(v) for k, v in stage.surrogateDF.first().asDict().items()})
        elif type(stage).__name__ == "StringIndexerModel":
            labels.update(zip(spec.of_type("categorical"), stage.labelsArray, strict=True))
    slots = [
        {"feature": c, "kind": "numeric", "fill": fills[c]} for c in spec.of_type("numeric") + spec.of_type("binary")
    ]
    for name in spec.of_type("categorical"):
        slots.extend({"feature": name, "kind": "onehot", "category": category} for category in labels[name])
    return slots


def encode(model: PipelineModel, table: DataFrame) -> DataFrame:
    """Apply the fitted pipeline; drop vector metadata so tree learners see every
    slot as continuous (Spark would otherwise use categorical splits that SHAP
    cannot read)."""
    encoded = model.transform(table)
    return encoded.withColumn(FEATURES_COLUMN, F.col(FEATURES_COLUMN).alias(FEATURES_COLUMN, metadata={}))

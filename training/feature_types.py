"""Feature types, each defined once: how a column of that type is checked, cast,
turned into Spark ML stages and model input slots.

The JVM-free half (encoding raw values into slots, safe column names) lives in
`bundle/feature_types.py`, so the dashboard can use it without Spark. Built-in
specs and config files both go through here, so a type means the same thing
whichever way a dataset arrives.

Column names are user data. Every read of a raw column goes through `raw_col`
(backtick-quoted, so dots and spaces are names, not struct access), and every
feature gets a safe internal name (`bundle.feature_types.safe_name`) that is
also its name in the bundle; the original column name is kept as `source`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyspark.ml import Estimator, Transformer
from pyspark.ml.feature import Imputer, OneHotEncoder, StringIndexer
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

from bundle.feature_types import imputed_column, index_column, onehot_column

DEFAULT_MAX_CATEGORIES = 50


def raw_col(name: str) -> Column:
    """A raw table column by its exact name, whatever characters it holds."""
    return F.col("`" + name.replace("`", "``") + "`")


def as_double(column: Column) -> Column:
    # try_cast: under ANSI mode (Spark 4's default) a plain cast of "abc" fails the job.
    return column.try_cast(T.DoubleType())


@dataclass(frozen=True)
class Check:
    """A row-level problem: `condition` is true on offending rows; `what` says what is wrong."""

    key: str
    condition: Column
    what: str


def checks(feature, column: Column) -> list[Check]:
    """Row-level checks for one feature (counted in the validation aggregation)."""
    if feature.type == "numeric":
        number = as_double(column)
        return [
            Check("not_number", column.isNotNull() & number.isNull(), "not numeric"),
            Check(
                "infinite",
                number.isin(float("inf"), float("-inf")),
                "infinite (replace them with a number, or leave them empty to be imputed)",
            ),
        ]
    if feature.type == "binary":
        if feature.positive is not None:
            if feature.negative is None:
                return []  # declared with only a positive value: every other value means 0
            return [
                Check(
                    "not_binary",
                    column.isNotNull() & ~column.cast("string").isin(feature.positive, feature.negative),
                    f"neither '{feature.positive}' nor '{feature.negative}'",
                )
            ]
        return [Check("not_binary", column.isNotNull() & ~as_double(column).isin(0.0, 1.0), "not 0 or 1")]
    return []


def cast(feature, column: Column) -> Column:
    """The typed value a validated raw column becomes (numeric → double, binary → 0/1 int, categorical → string)."""
    if feature.type == "numeric":
        number = as_double(column)
        # NaN is a missing value, not a number: the imputer fills it like NULL.
        return F.when(F.isnan(number), F.lit(None).cast("double")).otherwise(number)
    if feature.type == "binary":
        if feature.positive is not None:
            text = column.cast("string")
            return F.when(text.isNull(), F.lit(None)).otherwise((text == F.lit(feature.positive)).cast("int"))
        return as_double(column).cast("int")
    return column.cast("string")


SPARK_TYPES = {"numeric": T.DoubleType(), "binary": T.IntegerType(), "categorical": T.StringType()}


def spark_stages(features: list) -> list[Estimator[Any] | Transformer]:
    """Spark ML stages for a list of features (by their safe names), grouped per type."""
    numeric = [f.name for f in features if f.type == "numeric"]
    binary = [f.name for f in features if f.type == "binary"]
    categorical = [f.name for f in features if f.type == "categorical"]
    stages: list[Estimator[Any] | Transformer] = []
    if numeric:
        stages.append(Imputer(inputCols=numeric, outputCols=[imputed_column(c) for c in numeric], strategy="median"))
    if binary:
        stages.append(Imputer(inputCols=binary, outputCols=[imputed_column(c) for c in binary], strategy="mode"))
    if categorical:
        stages.append(
            StringIndexer(
                inputCols=categorical,
                outputCols=[index_column(c) for c in categorical],
                handleInvalid="keep",
                stringOrderType="frequencyDesc",
            )
        )
        # dropLast drops the "unseen category" slot that handleInvalid="keep" adds.
        stages.append(
            OneHotEncoder(
                inputCols=[index_column(c) for c in categorical], outputCols=[onehot_column(c) for c in categorical]
            )
        )
    return stages


def assembler_inputs(features: list) -> list[str]:
    """Stage outputs in slot order: numbers and 0/1 columns first, then one-hot blocks."""
    return [imputed_column(f.name) for f in _numbers_first(features)] + [
        onehot_column(f.name) for f in features if f.type == "categorical"
    ]


def _numbers_first(features: list) -> list:
    return [f for f in features if f.type == "numeric"] + [f for f in features if f.type == "binary"]


def slot_entries(features: list, fills: dict[str, float], levels: dict[str, list[str]]) -> list[dict]:
    """The bundle's `encoding`: one entry per model input slot, in slot order."""
    slots = [{"feature": f.name, "kind": "numeric", "fill": fills[f.name]} for f in _numbers_first(features)]
    for feature in features:
        if feature.type == "categorical":
            slots.extend({"feature": feature.name, "kind": "onehot", "category": c} for c in levels[feature.name])
    return slots


def manifest_entry(feature, categories: dict) -> dict:
    """The feature's entry in the bundle manifest (`categories` from the fitted indexer)."""
    entry = {"name": feature.name, "type": feature.type, "label": feature.label, **categories}
    if feature.source and feature.source != feature.name:
        entry["source"] = feature.source
    if feature.positive is not None:
        entry["values"] = {"1": feature.positive, "0": feature.negative}
    if feature.category_labels:
        entry["category_labels"] = dict(feature.category_labels)
    entry["actionable"] = bool(feature.actionable)
    return entry

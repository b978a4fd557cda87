"""Input checks that turn a raw table into a typed one, or say precisely what is wrong.

All row-level checks run in one Spark aggregation, so validating costs one pass
over the data whatever its size.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from bundle import layout
from training.datasets import DatasetSpec


class ValidationError(Exception):
    """The input table breaks the dataset spec; one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def _count(condition: Column) -> Column:
    return F.sum(F.when(condition, 1).otherwise(0))


def _as_double(column: str) -> Column:
    # try_cast: under ANSI mode (Spark 4's default) a plain cast of "abc" fails the job.
    return F.col(column).try_cast(T.DoubleType())


def _is_number(column: str) -> Column:
    # Cast-and-check rather than regex: Spark's own notion of a number wins.
    # NaN counts as a number here; the imputer treats it as missing.
    return _as_double(column).isNotNull()


def validate(raw: DataFrame, spec: DatasetSpec) -> DataFrame:
    """Typed table with columns customer_id, label (0/1) and the spec's features."""
    required = [spec.id_column, spec.label_column, *spec.feature_names]
    missing = [c for c in required if c not in raw.columns]
    if missing:
        raise ValidationError(
            [f"column '{c}': required by dataset '{spec.name}' but not in the input table" for c in missing]
        )
    checks: dict[str, Column] = {
        "rows": F.count(F.lit(1)),
        "null_ids": _count(F.col(spec.id_column).isNull()),
        "distinct_ids": F.countDistinct(spec.id_column),
        "null_labels": _count(F.col(spec.label_column).isNull()),
        "labels": F.slice(F.sort_array(F.collect_set(F.col(spec.label_column).cast("string"))), 1, 5),
        "distinct_labels": F.countDistinct(spec.label_column),
    }
    if id_type(raw, spec) == "string":
        as_text = F.col(spec.id_column).cast("string")
        checks["bad_ids"] = _count(
            as_text.isNotNull() & (~as_text.rlike(layout.STRING_ID_PATTERN) | (F.length(as_text) > layout.ID_MAX_LENGTH))
        )
    for name in spec.feature_names:
        checks[f"filled:{name}"] = F.count(F.col(name))  # non-null rows; an all-empty column can't be learned from
    for name in spec.of_type("numeric"):
        checks[f"bad:{name}"] = _count(F.col(name).isNotNull() & ~_is_number(name))
    for name in spec.of_type("binary"):
        checks[f"bad:{name}"] = _count(F.col(name).isNotNull() & ~_as_double(name).isin(0.0, 1.0))
    counts = raw.agg(*(column.alias(key) for key, column in checks.items())).first().asDict()

    problems = []
    if counts["rows"] == 0:
        raise ValidationError(["the input table has no rows"])
    if counts["null_ids"]:
        problems.append(f"column '{spec.id_column}': {counts['null_ids']} rows have no customer ID")
    duplicates = counts["rows"] - counts["null_ids"] - counts["distinct_ids"]
    if duplicates:
        problems.append(f"column '{spec.id_column}': {duplicates} rows repeat a customer ID that is already used")
    if counts.get("bad_ids"):
        problems.append(
            f"column '{spec.id_column}': {counts['bad_ids']} customer IDs are longer than {layout.ID_MAX_LENGTH} "
            "characters or use characters other than letters, digits and . - _ : @ / +"
        )
    if counts["null_labels"]:
        problems.append(f"column '{spec.label_column}': {counts['null_labels']} rows have no label")
    if counts["distinct_labels"] != 2:
        problems.append(
            f"column '{spec.label_column}': the label must have exactly two classes, found "
            f"{counts['distinct_labels']} ({', '.join(counts['labels'])}{', …' if counts['distinct_labels'] > 5 else ''})"
        )
    elif spec.positive_label not in counts["labels"]:
        problems.append(
            f"column '{spec.label_column}': the positive class '{spec.positive_label}' never occurs "
            f"(classes: {', '.join(counts['labels'])})"
        )
    for name in spec.feature_names:
        if counts[f"filled:{name}"] == 0:
            problems.append(f"column '{name}': every row is empty")
    for name in spec.of_type("numeric"):
        if counts[f"bad:{name}"]:
            problems.append(f"column '{name}': {counts[f'bad:{name}']} rows are not numbers")
    for name in spec.of_type("binary"):
        if counts[f"bad:{name}"]:
            problems.append(f"column '{name}': {counts[f'bad:{name}']} rows are not 0 or 1")
    if problems:
        raise ValidationError(problems)
    return _typed(raw, spec)


def id_type(raw: DataFrame, spec: DatasetSpec) -> str:
    field = raw.schema[spec.id_column].dataType
    return "int" if isinstance(field, (T.IntegerType, T.LongType, T.ShortType)) else "string"


def _typed(raw: DataFrame, spec: DatasetSpec) -> DataFrame:
    id_cast = T.LongType() if id_type(raw, spec) == "int" else T.StringType()
    casts = {"numeric": T.DoubleType(), "binary": T.IntegerType(), "categorical": T.StringType()}
    return raw.select(
        F.col(spec.id_column).cast(id_cast).alias(layout.ID_COLUMN),
        (F.col(spec.label_column).cast("string") == F.lit(spec.positive_label)).cast("int").alias(layout.LABEL_COLUMN),
        *(F.col(f.name).cast(casts[f.type]).alias(f.name) for f in spec.features),
    )

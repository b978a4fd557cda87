"""Input checks that turn a raw table into a typed one, or say precisely what is wrong.

All row-level checks run in one Spark aggregation, plus one grouping of the ID
column for uniqueness, so validating costs two passes over the data whatever its
size. Each problem names the column, what is wrong, how many rows, and one
example value.

No DISTINCT aggregate goes into the big aggregation: Spark rewrites one by
grouping on the distinct column first, which gives every other aggregate (a
HyperLogLog sketch per categorical among them) a buffer per distinct customer ID,
about 50 KB each for Telco's columns, 5 GB at 100,000 rows: validating 100,000
rows took 160-290 s that way.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from bundle import layout
from training import feature_types as ft
from training.datasets import DatasetSpec
from training.spark import one_row
from training.text import shown

ROW_ID = "_row_number"


class ValidationError(Exception):
    """The input table breaks the dataset spec; one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def _count(condition: Column) -> Column:
    return F.sum(F.when(condition, 1).otherwise(0))


def _example(condition: Column, column: Column) -> Column:
    # min, not first: the same example on every run and cluster layout.
    return F.min(F.when(condition, column.cast("string")))


def _shown(value: object, limit: int = 40) -> str:
    return shown(value, limit)


def _rows(n: int, verb: str = "are") -> str:
    """'1 row is' / '3 rows are' (verb: are | have | repeat)."""
    singular = {"are": "is", "have": "has", "repeat": "repeats"}[verb]
    return f"1 row {singular}" if n == 1 else f"{n} rows {verb}"


def with_row_numbers(raw: DataFrame) -> DataFrame:
    """Number customers 1, 2, … in input order (zipWithIndex: no single-partition window)."""
    schema = T.StructType([*raw.schema.fields, T.StructField(ROW_ID, T.LongType(), False)])
    return raw.rdd.zipWithIndex().map(lambda pair: (*pair[0], pair[1] + 1)).toDF(schema)


def id_column(spec: DatasetSpec) -> str:
    return spec.id_column or ROW_ID


def prepare(raw: DataFrame, spec: DatasetSpec) -> DataFrame:
    return raw if spec.id_column else with_row_numbers(raw)


def validate(raw: DataFrame, spec: DatasetSpec) -> DataFrame:
    """Typed table with columns customer_id, label (0/1), the spec's features (by safe name) and its
    audit-only columns (as text)."""
    required = [
        c for c in (spec.id_column, spec.label_column, *(f.column for f in spec.features), *spec.audit_only) if c
    ]
    missing = [c for c in dict.fromkeys(required) if c not in raw.columns]
    if missing:
        raise ValidationError(
            [f"column '{c}': required by dataset '{spec.name}' but not in the input table" for c in missing]
        )
    raw = prepare(raw, spec)
    ident, label = ft.raw_col(id_column(spec)), ft.raw_col(spec.label_column)
    checks: dict[str, Column] = {
        "rows": F.count(F.lit(1)),
        "null_ids": _count(ident.isNull()),
        "null_labels": _count(label.isNull()),
        "labels": F.slice(F.sort_array(F.collect_set(label.cast("string"))), 1, 5),
        "distinct_labels": F.size(F.collect_set(label.cast("string"))),
    }
    if id_type(raw, spec) == "string" and not spec.hash_ids:
        as_text = ident.cast("string")
        bad = as_text.isNotNull() & (
            ~as_text.rlike(layout.STRING_ID_PATTERN) | (F.length(as_text) > layout.ID_MAX_LENGTH)
        )
        checks["bad_ids"], checks["bad_id_example"] = _count(bad), _example(bad, as_text)
    categorical = {f.column for f in spec.features if f.type == "categorical"}
    checks.update(_text_checks(raw, required, categorical))
    row_checks = {}
    for feature in spec.features:
        column = ft.raw_col(feature.column)
        for check in ft.checks(feature, column):
            key = f"{check.key}:{feature.name}"
            row_checks[key] = (feature, check)
            checks[key], checks[f"ex_{key}"] = _count(check.condition), _example(check.condition, column)
        typed = ft.cast(feature, column)
        checks[f"present:{feature.name}"] = F.count(typed)
        checks[f"min:{feature.name}"] = F.min(typed)
        checks[f"max:{feature.name}"] = F.max(typed)
        if feature.type == "categorical":
            checks[f"levels:{feature.name}"] = F.approx_count_distinct(typed, 0.02)
    counts = one_row(raw.agg(*(column.alias(key) for key, column in checks.items()))).asDict()

    if counts["rows"] == 0:
        raise ValidationError(["the input table has no rows"])
    counts.update(_repeated_ids(raw, ident))
    problems = _text_problems(required, categorical, counts) + _id_and_label_problems(spec, counts)
    for key, (feature, check) in row_checks.items():
        if counts[key]:
            problems.append(
                f"column '{feature.column}': {_rows(counts[key])} {check.what}, e.g. {_shown(counts['ex_' + key])}"
            )
    for feature in spec.features:
        problems += _column_problems(spec, feature, counts)
    if problems:
        raise ValidationError(problems)
    return _typed(raw, spec)


# What a UTF-8 decoder (Spark's CSV and JSON readers among them) puts where the bytes were not UTF-8:
# a Latin-1 "café" arrives as "caf\ufffd", and would become a category of its own.
REPLACEMENT = "\ufffd"


# Longer cells are not customer data (a binary file, a pasted document); they would reach the
# manifest (categories) or a page. Categories are shown in select boxes and tables: shorter still.
MAX_CELL_CHARS = 1_000
MAX_CATEGORY_CHARS = 200


def _text_checks(raw: DataFrame, columns: list[str], categorical: set[str]) -> dict[str, Column]:
    """Per text column: rows holding the replacement character, rows over the length cap, and the
    smallest such value of each."""
    text = {f.name for f in raw.schema.fields if isinstance(f.dataType, T.StringType)}
    checks = {}
    for name in dict.fromkeys(c for c in columns if c in text):
        column = ft.raw_col(name)
        bad = column.contains(REPLACEMENT)
        checks[f"not_utf8:{name}"], checks[f"ex_not_utf8:{name}"] = _count(bad), _example(bad, column)
        cap = MAX_CATEGORY_CHARS if name in categorical else MAX_CELL_CHARS
        long = F.length(column) > cap
        checks[f"too_long:{name}"], checks[f"ex_too_long:{name}"] = _count(long), _example(long, column)
        checks[f"longest:{name}"] = F.max(F.length(column))
    return checks


def _text_problems(columns: list[str], categorical: set[str], counts: dict) -> list[str]:
    problems = []
    for name in dict.fromkeys(columns):
        if counts.get(f"not_utf8:{name}"):
            problems.append(
                f"column {_shown(name)}: {_rows(counts[f'not_utf8:{name}'])} not UTF-8 text, e.g. "
                f"{_shown(counts[f'ex_not_utf8:{name}'])}; save the file as UTF-8 (in a spreadsheet: "
                "'CSV UTF-8') or name its encoding in the config ([customers.csv] encoding = \"latin-1\") "
                "and train again"
            )
        if counts.get(f"too_long:{name}"):
            what = "categories" if name in categorical else "values"
            cap = MAX_CATEGORY_CHARS if name in categorical else MAX_CELL_CHARS
            problems.append(
                f"column {_shown(name)}: {_rows(counts[f'too_long:{name}'], 'have')} {what} longer than "
                f"{cap:,} characters (the longest has {counts[f'longest:{name}']:,}), e.g. "
                f"{_shown(counts[f'ex_too_long:{name}'])}; is this the right file and column?"
            )
    return problems


def _repeated_ids(raw: DataFrame, ident: Column) -> dict:
    """Rows whose ID an earlier row already uses, and the smallest such ID (one grouping of the IDs)."""
    repeats = raw.where(ident.isNotNull()).groupBy(ident.alias("i")).count().where("count > 1")
    row = one_row(repeats.agg(F.sum(F.col("count") - 1).alias("n"), F.min("i").alias("example")))
    return {"duplicate_ids": int(row["n"] or 0), "dup_example": row["example"]}


def _id_and_label_problems(spec: DatasetSpec, counts: dict) -> list[str]:
    problems = []
    id_name = spec.id_column
    if counts["null_ids"]:
        problems.append(f"column '{id_name}': {_rows(counts['null_ids'], 'have')} no customer ID")
    duplicates = counts["duplicate_ids"]
    if duplicates:
        problems.append(
            f"column '{id_name}': {_rows(duplicates, 'repeat')} a customer ID that is already used"
            + (f", e.g. {_shown(counts['dup_example'])}" if counts.get("dup_example") is not None else "")
        )
    if counts.get("bad_ids"):
        problems.append(
            f"column '{id_name}': {counts['bad_ids']} customer IDs are longer than {layout.ID_MAX_LENGTH} "
            f"characters or use characters other than letters, digits and . - _ : @ / +, "
            f"e.g. {_shown(counts['bad_id_example'])} (they could not be typed or carried in a URL; "
            "hashing the IDs avoids this)"
        )
    if counts["null_labels"]:
        problems.append(f"column '{spec.label_column}': {_rows(counts['null_labels'], 'have')} no label")
    if counts["distinct_labels"] != 2:
        more = ", …" if counts["distinct_labels"] > 5 else ""
        problems.append(
            f"column '{spec.label_column}': the label must have exactly two classes, found "
            f"{counts['distinct_labels']} ({', '.join(counts['labels'])}{more})"
        )
    elif spec.positive_label not in counts["labels"]:
        problems.append(
            f"column '{spec.label_column}': the positive class '{spec.positive_label}' never occurs "
            f"(classes: {', '.join(counts['labels'])})"
        )
    return problems


def _column_problems(spec: DatasetSpec, feature, counts: dict) -> list[str]:
    name = feature.name
    if any(counts[f"{k}:{name}"] for k in ("not_number", "not_binary") if f"{k}:{name}" in counts):
        return []  # already reported; the other checks would only repeat it
    if counts[f"present:{name}"] == 0:
        return [
            f"column '{feature.column}': all {counts['rows']} rows are empty; "
            "a feature needs values (ignore the column or fill it)"
        ]
    if counts[f"min:{name}"] == counts[f"max:{name}"]:
        return [
            f"column '{feature.column}': every non-empty row ({counts[f'present:{name}']}) has the same value "
            f"{_shown(counts[f'min:{name}'])}; a constant cannot explain churn (ignore the column)"
        ]
    levels = counts.get(f"levels:{name}")
    if levels is not None and levels > spec.max_categories:
        return [
            f"column '{feature.column}': about {levels} distinct categories, more than the cap of "
            f"{spec.max_categories} (e.g. {_shown(counts[f'min:{name}'])}); group rare values, "
            "declare it numeric, ignore it, or raise features.max_categories"
        ]
    return []


def id_type(raw: DataFrame, spec: DatasetSpec) -> str:
    if spec.hash_ids:
        return "string"
    if spec.id_column is None:
        return "int"
    field = raw.schema[spec.id_column].dataType
    return "int" if isinstance(field, (T.IntegerType, T.LongType, T.ShortType, T.ByteType)) else "string"


def _typed(raw: DataFrame, spec: DatasetSpec) -> DataFrame:
    ident = ft.raw_col(id_column(spec))
    if spec.hash_ids:
        from training.hashing import hashed_ids

        customer_id = hashed_ids(ident)
    else:
        customer_id = ident.cast(T.LongType() if id_type(raw, spec) == "int" else T.StringType())
    return raw.select(
        customer_id.alias(layout.ID_COLUMN),
        (ft.raw_col(spec.label_column).cast("string") == F.lit(spec.positive_label))
        .cast("int")
        .alias(layout.LABEL_COLUMN),
        *(ft.cast(f, ft.raw_col(f.column)).alias(f.name) for f in spec.features),
        *(ft.raw_col(c).cast("string").alias(c) for c in spec.audit_only),
    )

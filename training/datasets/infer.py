"""Read a user's table with Spark and infer what each column is, in one aggregation.

The rules live in `training/datasets/decide.py` (shared with `init-config`'s local reader);
this module gathers their statistics with Spark and builds a DatasetSpec from a config.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from bundle.feature_types import is_safe_name, safe_name
from training import feature_types as ft
from training.datasets import reasons as reason_rules
from training.datasets.config import Config, ConfigError
from training.datasets.config_reader import join
from training.datasets.decide import BOOLEAN, FRACTIONAL, INTEGRAL, STRING, ColumnStats, Decision, decide
from training.datasets.spec import DatasetSpec, FeatureSpec
from training.datasets.tables import TableError, read_table, with_integer_ids
from training.datasets.tables import column_list as _list
from training.spark import one_row

# HyperLogLog++'s relative error for distinct counts; a count this close to a rule's threshold
# (nearly all rows differ, more levels than the cap) is counted exactly in a second pass, as the
# local reader counts: at 0.02 a 300-row ID column was estimated at ~290, under the 98% rule.
DISTINCT_RSD = 0.02
_NEAR = 5 * DISTINCT_RSD
_INTEGRAL_TYPES = (T.ByteType, T.ShortType, T.IntegerType, T.LongType)
_FRACTIONAL_TYPES = (T.FloatType, T.DoubleType, T.DecimalType)


def kind(data_type: T.DataType) -> str:
    """The column kind `decide` takes for a Spark type."""
    if isinstance(data_type, T.BooleanType):
        return BOOLEAN
    if isinstance(data_type, _INTEGRAL_TYPES):
        return INTEGRAL
    if isinstance(data_type, _FRACTIONAL_TYPES):
        return FRACTIONAL
    if isinstance(data_type, T.StringType):
        return STRING
    return data_type.simpleString()


def infer(table: DataFrame, exclude: set[str], max_categories: int) -> list[Decision]:
    """One decision per column of `table` not in `exclude`, in table order."""
    columns = [c for c in table.columns if c not in exclude]
    if not columns:
        return []
    kinds = [kind(table.schema[name].dataType) for name in columns]
    stats = {"rows": F.count(F.lit(1))}
    for i, name in enumerate(columns):
        column = ft.raw_col(name)
        number = kinds[i] in (INTEGRAL, FRACTIONAL)  # numbers stay numbers; anything else becomes text
        stats[f"n{i}"] = F.count(column)
        stats[f"d{i}"] = F.approx_count_distinct(column, DISTINCT_RSD)
        stats[f"lo{i}"] = F.min(column) if number else F.min(column).cast("string")
        stats[f"hi{i}"] = F.max(column) if number else F.max(column).cast("string")
        if kinds[i] == STRING:
            stats[f"num{i}"] = F.count(ft.as_double(column))
    row = one_row(table.agg(*(c.alias(k) for k, c in stats.items()))).asDict()
    row.update(_exact_near_thresholds(table, columns, row, max_categories))
    return [
        decide(
            name,
            ColumnStats(kinds[i], row[f"n{i}"], row[f"d{i}"], row[f"lo{i}"], row[f"hi{i}"], row.get(f"num{i}")),
            max_categories,
        )
        for i, name in enumerate(columns)
    ]


def _exact_near_thresholds(table: DataFrame, columns: list[str], row: dict, cap: int) -> dict:
    """Exact distinct counts for the columns whose estimate is too close to a threshold to decide on
    (usually the few ID-like ones): one more aggregation, none when no estimate is close."""
    near = [
        i
        for i in range(len(columns))
        if (row[f"n{i}"] >= 20 and row[f"d{i}"] >= (0.98 - _NEAR) * row[f"n{i}"])
        or abs(row[f"d{i}"] - cap) <= _NEAR * cap
    ]
    if not near:
        return {}
    exact = table.agg(*(F.count_distinct(ft.raw_col(columns[i])).alias(f"d{i}") for i in near))
    return one_row(exact).asDict()


def build_spec(spark: SparkSession, config: Config) -> tuple[DatasetSpec, list[Decision]]:
    """The DatasetSpec a config describes, with the inference decisions behind it."""
    from training.validate import ValidationError

    if config.label_column is None:  # events.churn_after_days: the customer table is built from events
        from training.datasets.own_events import events_spec

        return events_spec(spark, config), []
    customers, positive = config.customers, config.positive_label
    if customers is None or positive is None:  # parse_config refuses a label without both
        raise ValueError(f"{config.path}: customers.label needs a [customers] table and customers.positive")
    table = with_integer_ids(read_table(spark, customers), config.id_column)
    problems = [
        f"{key}: no column {value!r} in the customers table (columns: {_list(table.columns)})"
        for key, value in (("customers.id", config.id_column), ("customers.label", config.label_column))
        if value is not None and value not in table.columns
    ]
    problems += [
        f"features.columns.{column!r}: no such column in the customers table (columns: {_list(table.columns)})"
        for column in config.columns
        if column not in table.columns
    ]
    problems += [
        f"audit.columns: no column {column!r} in the customers table (columns: {_list(table.columns)})"
        for column in config.audit
        if column not in table.columns
    ]
    if problems:
        raise ValidationError(problems)

    decisions = _decisions(table, config)
    features = _features(decisions, config)
    reason_problems = _reason_problems(features, config)
    if reason_problems:
        raise ConfigError(config.path, reason_problems)
    if not features:
        raise ValidationError(["the customers table has no usable feature columns (see the decisions above)"])
    audit, audit_problems = _audit(features, config)
    if audit_problems:
        raise ConfigError(config.path, audit_problems)
    spec = DatasetSpec(
        name=config.name,
        source=f"{customers.format} {customers.path} (config {config.path})",
        id_column=config.id_column,
        label_column=config.label_column,
        positive_label=positive,
        features=tuple(features),
        load=lambda _spark: table,
        max_categories=config.max_categories,
        hash_ids=config.hash_ids,
        audit=audit,
    )
    if config.events is not None:  # a label column plus an event log: events add item vectors only
        from dataclasses import replace

        from training.datasets.own_events import item_source

        spec = replace(spec, events=item_source(spark, config))
    return spec, decisions


def _decisions(table: DataFrame, config: Config) -> list[Decision]:
    """Inferred decisions plus the config's explicit types, in table column order."""
    exclude = {c for c in (config.id_column, config.label_column) if c}
    exclude |= {c for c, o in config.columns.items() if o.ignore or o.type}
    decisions = infer(table, exclude, config.max_categories) if config.infer else []
    decisions += [
        Decision(c, o.type, "type set in the config") for c, o in config.columns.items() if o.type and not o.ignore
    ]
    order = {c: i for i, c in enumerate(table.columns)}
    return sorted(decisions, key=lambda d: order[d.column])


def _features(decisions: list[Decision], config: Config) -> list[FeatureSpec]:
    features: list[FeatureSpec] = []
    taken: set[str] = set()
    for decision in decisions:
        if decision.type is None:
            continue
        override = config.columns.get(decision.column)
        name = safe_name(decision.column, taken)
        taken.add(name)
        positive = (override.positive if override else None) or decision.positive
        negative = decision.negative if positive == decision.positive else None
        reasons = override.reasons if override else ()
        if decision.type == "binary":
            reasons = reason_rules.binary_values(reasons, positive, negative)
        features.append(
            FeatureSpec(
                name=name,
                type=decision.type,
                label=(override.label if override and override.label else decision.column),
                source=decision.column,
                positive=positive if decision.type == "binary" else None,
                negative=negative,
                category_labels=tuple(sorted(override.categories.items())) if override else (),
                actionable=bool(override and override.actionable),
                reasons=reasons,
                reasons_source="config",
            )
        )
    return features


def _audit(features: list[FeatureSpec], config: Config) -> tuple[tuple[str, ...], list[str]]:
    """Audit columns by their name in the bundle: a feature's name, or the column itself (audit only)."""
    by_source = {f.column: f.name for f in features}
    names, problems = [], []
    for column in config.audit:
        if column in by_source:
            names.append(by_source[column])
        elif not is_safe_name(column) or column in by_source.values():
            problems.append(
                f"audit.columns: {column!r} is not a feature, and a column kept for audit only needs a plain name "
                "(letters, digits and '_', not one of the feature names or customer_id, label, split)"
            )
        else:
            names.append(column)
    return tuple(names), problems


def _reason_problems(features: list[FeatureSpec], config: Config) -> list[str]:
    """The config's reasons checked against each column's type, known only now (inferred or given)."""
    problems = []
    for feature in features:
        override = config.columns.get(feature.column)
        if override is None or not feature.reasons or (override.type is not None and feature.type != "binary"):
            continue  # none, or checked when the config was read
        where = join(join("features.columns", feature.column), "reasons")
        problems += reason_rules.type_problems(feature.type, feature.reasons, where)
    return problems


__all__ = ["Decision", "TableError", "build_spec", "infer", "read_table", "with_integer_ids"]

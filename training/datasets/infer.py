"""Read a user's table with Spark and infer what each column is, in one aggregation.

Rules (each decision is reported, and any can be overridden per column):
- all values empty → left out; one distinct value → left out (constant);
- numbers (or text that is always a number) → numeric; exactly 0/1 → binary;
- true/false → binary; two values that read as yes/no (Y/N, yes/no, true/false, t/f, 1/0) → binary;
- other text → categorical, unless nearly every row differs (ID-like: left out)
  or it has more levels than features.max_categories (left out, with the count);
- whole-number columns named like an identifier (id, key, index, rownames …) whose values all differ → left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from bundle.feature_types import is_safe_name, safe_name
from training import feature_types as ft
from training.datasets import reasons as reason_rules
from training.datasets.config import Config, ConfigError
from training.datasets.config_reader import join
from training.datasets.spec import DatasetSpec, FeatureSpec
from training.datasets.tables import _INTEGER_ID, TableError, read_table, with_integer_ids
from training.datasets.tables import column_list as _list
from training.spark import one_row

_ID_NAME = re.compile(r"(?i:(^|[^a-z])(id|ids|key|index|idx|uuid|guid|rownames|row_?number)([^a-z]|$))|[a-z](ID|Id)$")
_YES_NO = {frozenset(p) for p in (("y", "n"), ("yes", "no"), ("true", "false"), ("t", "f"), ("1", "0"))}
_NUMERIC_TYPES = (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.FloatType, T.DoubleType, T.DecimalType)
_INTEGRAL_TYPES = (T.ByteType, T.ShortType, T.IntegerType, T.LongType)


@dataclass(frozen=True)
class Decision:
    column: str
    type: str | None  # None: left out
    reason: str  # why (shown by init-config and in the run's log)
    positive: str | None = None
    negative: str | None = None


def infer(table: DataFrame, exclude: set[str], max_categories: int) -> list[Decision]:
    """One decision per column of `table` not in `exclude`, in table order."""
    columns = [c for c in table.columns if c not in exclude]
    if not columns:
        return []
    stats = {"rows": F.count(F.lit(1))}
    for i, name in enumerate(columns):
        column = ft.raw_col(name)
        stats[f"n{i}"] = F.count(column)
        stats[f"d{i}"] = F.approx_count_distinct(column, 0.02)
        stats[f"lo{i}"] = F.min(column).cast("string")
        stats[f"hi{i}"] = F.max(column).cast("string")
        if isinstance(table.schema[name].dataType, T.StringType):
            stats[f"num{i}"] = F.count(ft.as_double(column))
    row = one_row(table.agg(*(c.alias(k) for k, c in stats.items()))).asDict()
    return [_decide(table.schema[name].dataType, name, i, row, max_categories) for i, name in enumerate(columns)]


def _decide(kind: T.DataType, name: str, i: int, row: dict, cap: int) -> Decision:
    present, distinct = row[f"n{i}"], row[f"d{i}"]
    low, high = row[f"lo{i}"], row[f"hi{i}"]
    if present == 0:
        return Decision(name, None, "left out: every value is empty")
    if low == high:
        return Decision(name, None, f"left out: constant (every value is {low!r})")
    all_distinct = distinct >= 0.98 * present and present >= 20
    if isinstance(kind, T.BooleanType):
        return Decision(name, "binary", "true/false", positive="true", negative="false")
    if isinstance(kind, _NUMERIC_TYPES) or (isinstance(kind, T.StringType) and row.get(f"num{i}") == present):
        integral = isinstance(kind, _INTEGRAL_TYPES) or (
            isinstance(kind, T.StringType)
            and re.fullmatch(_INTEGER_ID, low or "")
            and re.fullmatch(_INTEGER_ID, high or "")
        )
        if integral and all_distinct and _ID_NAME.search(name):
            return Decision(
                name, None, "left out: looks like an identifier (whole numbers, all different, named like an ID)"
            )
        if distinct == 2 and {float(low), float(high)} == {0.0, 1.0}:
            return Decision(name, "binary", "only 0 and 1")
        return Decision(
            name, "numeric", "numbers" if isinstance(kind, _NUMERIC_TYPES) else "text that is always a number"
        )
    if isinstance(kind, T.StringType):
        if distinct == 2 and frozenset((low.strip().lower(), high.strip().lower())) in _YES_NO:
            positive = low if low.strip().lower() in ("y", "yes", "true", "t", "1") else high
            negative = high if positive == low else low
            return Decision(name, "binary", f"two values, {positive!r} = yes", positive=positive, negative=negative)
        if all_distinct:
            return Decision(name, None, "left out: looks like an identifier (nearly every row differs)")
        if distinct > cap:
            return Decision(
                name, None, f"left out: about {distinct} categories, more than features.max_categories = {cap}"
            )
        return Decision(name, "categorical", f"text, about {distinct} categories")
    return Decision(name, None, f"left out: unsupported column type {kind.simpleString()}")


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

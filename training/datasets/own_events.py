"""A config's `[events]` (+ optional `[items]`) → the canonical tables of training/events.py → a DatasetSpec.

With a customers table that has its own label, the events only add item vectors and
each customer's recent items (`item_source`, no churn window).

With `events.churn_after_days = N` the customer table is built from events, as the
built-in MovieLens dataset does: each user's first 7 days are observed (relative
cutoff, ChurnWindow's default) and a user is churned when they have no event in the
N days after that. The spec carries an `EventSource`, so the pipeline also trains
item vectors and records each customer's recent items.

Column mapping (names from the config):

    events  user → user_id (whole numbers → long, else text), item → item_id (text),
            timestamp → ts (a timestamp column, ISO date/time text, or epoch seconds),
            value → value (double; no value column → null)
    items   id → item_id, name → title (else the ID), attributes → genres ("A|B"),
            a column named `year` → year (else null). No [items]: the items events name.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from training import events as ev
from training import feature_types as ft
from training.datasets.config import Config
from training.datasets.spec import DatasetSpec, FeatureSpec
from training.datasets.tables import column_list as _list
from training.datasets.tables import read_table, with_integer_ids
from training.spark import one_row

MAX_GENRES = 8  # one share_<genre> feature for each of the most common attribute values
_EPOCH = r"^\s*-?[0-9]+(\.[0-9]+)?\s*$"

_LABELS = {
    **ev.BASE_FEATURES,
    "events": "Events in the first week",
    "distinct_items": "Distinct items",
    "value_mean": "Mean event value",
    "value_std": "Event value spread (std)",
    "item_popularity": "Mainstream taste (mean users per item, log)",
    "item_year": "Mean item year",
    "distinct_genres": "Distinct item attributes",
}


def _timestamp(column: Column, kind: T.DataType) -> Column:
    if isinstance(kind, (T.TimestampType, T.TimestampNTZType, T.DateType)):
        return column.cast("timestamp")
    if isinstance(kind, (T.IntegerType, T.LongType, T.ShortType, T.FloatType, T.DoubleType, T.DecimalType)):
        return F.timestamp_seconds(column.cast("long"))
    text = F.trim(column.cast("string"))
    # try_to_timestamp: NULL for text that is no date, where to_timestamp would fail under ANSI mode.
    return F.when(text.rlike(_EPOCH), F.timestamp_seconds(text.try_cast("double").cast("long"))).otherwise(
        F.try_to_timestamp(text)
    )


def _require_columns(table: DataFrame, section: str, wanted: dict[str, str | None]) -> None:
    """Refuse, all at once, every configured `[section]` key whose column the table lacks."""
    missing = [
        f"{section}.{key}: no column {name!r} in the {section} table (columns: {_list(table.columns)})"
        for key, name in wanted.items()
        if name is not None and name not in table.columns
    ]
    if missing:
        from training.validate import ValidationError

        raise ValidationError(missing)


def _events_section(config: Config) -> dict:
    """The config's `[events]`; only a config that has one reaches this module."""
    if config.events is None:
        raise ValueError(f"{config.path}: no [events] section")
    return config.events


def _raw_events(spark: SparkSession, config: Config) -> DataFrame:
    spec = _events_section(config)
    table = read_table(spark, spec["source"])
    columns = {"user": spec["user"], "item": spec["item"], "timestamp": spec["timestamp"], "value": spec["value"]}
    _require_columns(table, "events", columns)
    value = ft.as_double(ft.raw_col(spec["value"])) if spec["value"] else F.lit(None).cast("double")
    canonical = table.select(
        ft.raw_col(spec["user"]).alias(ev.USER),
        ft.raw_col(spec["item"]).cast("string").alias(ev.ITEM),
        _timestamp(ft.raw_col(spec["timestamp"]), table.schema[spec["timestamp"]].dataType).alias(ev.TS),
        value.alias(ev.VALUE),
        ft.raw_col(spec["timestamp"]).cast("string").alias("_ts_text"),
        (ft.raw_col(spec["value"]).cast("string") if spec["value"] else F.lit(None).cast("string")).alias(
            "_value_text"
        ),
    )
    return with_integer_ids(canonical, ev.USER)


def _problems(raw: DataFrame, config: Config) -> list[str]:
    """Every unusable event, counted in one pass (rows are refused, never silently dropped)."""
    spec = _events_section(config)

    def first(condition: Column, column: str) -> Column:
        return F.first(F.when(condition, F.col(column)), ignorenulls=True)

    bad_ts = F.col(ev.TS).isNull() & F.col("_ts_text").isNotNull()
    bad_value = F.col(ev.VALUE).isNull() & F.col("_value_text").isNotNull()
    row = one_row(
        raw.agg(
            F.count(F.lit(1)).alias("rows"),
            F.sum(F.col(ev.USER).isNull().cast("int")).alias("no_user"),
            F.sum(F.col(ev.ITEM).isNull().cast("int")).alias("no_item"),
            F.sum(F.col("_ts_text").isNull().cast("int")).alias("no_ts"),
            F.sum(bad_ts.cast("int")).alias("bad_ts"),
            first(bad_ts, "_ts_text").alias("bad_ts_example"),
            F.sum(bad_value.cast("int")).alias("bad_value"),
            first(bad_value, "_value_text").alias("bad_value_example"),
        )
    )
    problems = []
    if row["rows"] == 0:
        return [f"events: the table {spec['source'].path} has no rows"]
    for key, count in (("user", row["no_user"]), ("item", row["no_item"]), ("timestamp", row["no_ts"])):
        if count:
            problems.append(f"events.{key}: {count} of {row['rows']} events have no value in column {spec[key]!r}")
    if row["bad_ts"]:
        problems.append(
            f"events.timestamp: {row['bad_ts']} values in column {spec['timestamp']!r} are neither a date/time "
            f"(e.g. 2026-03-01 or 2026-03-01T12:30:00) nor epoch seconds, e.g. {row['bad_ts_example']!r}"
        )
    if row["bad_value"]:
        problems.append(
            f"events.value: {row['bad_value']} values in column {spec['value']!r} are not numbers, "
            f"e.g. {row['bad_value_example']!r}"
        )
    return problems


def _items(spark: SparkSession, config: Config, events: DataFrame) -> DataFrame:
    entry = config.items
    if entry is None:
        return (
            events.select(ev.ITEM)
            .distinct()
            .select(
                ev.ITEM,
                F.col(ev.ITEM).alias(ev.TITLE),
                F.lit(None).cast("double").alias(ev.YEAR),
                F.lit("").alias(ev.GENRES),
            )
        )
    table = read_table(spark, entry["source"])
    wanted = {"id": entry["id"], "name": entry["name"]} | {
        f"attributes[{i}]": a for i, a in enumerate(entry["attributes"])
    }
    _require_columns(table, "items", wanted)
    item_id = ft.raw_col(entry["id"]).cast("string")
    genres = (
        F.concat_ws(ev.GENRE_SEPARATOR, *(ft.raw_col(a).cast("string") for a in entry["attributes"]))
        if entry["attributes"]
        else F.lit("")
    )
    year = ft.as_double(ft.raw_col("year")) if "year" in table.columns else F.lit(None).cast("double")
    return (
        table.where(item_id.isNotNull())
        .select(
            item_id.alias(ev.ITEM),
            (ft.raw_col(entry["name"]).cast("string") if entry["name"] else item_id).alias(ev.TITLE),
            year.alias(ev.YEAR),
            genres.alias(ev.GENRES),
        )
        .dropDuplicates([ev.ITEM])
    )


def load_events(spark: SparkSession, config: Config) -> tuple[DataFrame, DataFrame]:
    """(events, items) in the canonical columns, or ValidationError naming each bad column or value."""
    from training.validate import ValidationError

    raw = _raw_events(spark, config)
    problems = _problems(raw, config)
    if problems:
        raise ValidationError(problems)
    events = raw.select(ev.USER, ev.ITEM, ev.TS, ev.VALUE)
    return events, _items(spark, config, events)


def _common_genres(events: DataFrame, items: DataFrame) -> tuple[str, ...]:
    used = events.select(ev.ITEM).distinct().join(items, ev.ITEM)
    genre = F.explode(F.split(F.col(ev.GENRES), "\\" + ev.GENRE_SEPARATOR)).alias("g")
    rows = (
        used.select(genre)
        .where(F.col("g") != "")
        .groupBy("g")
        .count()
        .orderBy(F.desc("count"), "g")
        .limit(MAX_GENRES)
        .collect()
    )
    return tuple(r["g"] for r in rows)


def item_source(spark: SparkSession, config: Config) -> ev.EventSource:
    """Events beside a customers table that has its own label: item vectors and recent items, no churn window.

    Read and checked now, so a bad event column stops the run before training."""
    events, items = load_events(spark, config)
    events, items = events.cache(), items.cache()
    return ev.EventSource(load=lambda _spark: (events, items), window=None, genres=())


def events_spec(spark: SparkSession, config: Config) -> DatasetSpec:
    """The behavioural DatasetSpec for a config with events.churn_after_days."""
    from training.validate import ValidationError

    if config.columns:
        raise ValidationError(
            [
                "features.columns: with a behavioural label the features are built from events; "
                "per-column overrides apply to a customers table only"
            ]
        )
    section = _events_section(config)
    events, items = load_events(spark, config)
    events, items = events.cache(), items.cache()
    window = ev.ChurnWindow(horizon_days=section["churn_after_days"])
    genres = _common_genres(events, items)
    source = ev.EventSource(load=lambda _spark: (events, items), window=window, genres=genres)
    table = source.churn_table(spark)
    names = [*ev.BASE_FEATURES, *(ev.genre_feature(g) for g in genres)]
    stats = one_row(
        table.agg(
            F.count(F.lit(1)).alias("rows"),
            *(F.min(n).alias(f"lo:{n}") for n in names),
            *(F.max(n).alias(f"hi:{n}") for n in names),
        )
    )
    if stats["rows"] == 0:
        raise ValidationError(
            [
                f"events.churn_after_days: no user can be labelled — {window.describe()}, and for every user that "
                "horizon ends after the last event in the table "
                "(a longer event history or a shorter churn_after_days helps)"
            ]
        )
    # Features with one value (no values given, every item without a year, one event each) explain nothing.
    labels = _LABELS | {ev.genre_feature(g): f"Share of events on {g}" for g in genres}
    features = tuple(FeatureSpec(n, "numeric", labels[n]) for n in names if stats[f"lo:{n}"] != stats[f"hi:{n}"])
    return DatasetSpec(
        name=config.name,
        source=f"events {section['source'].path} (config {config.path}); behavioural churn: {window.describe()}",
        id_column=ev.USER,
        label_column=ev.CHURN_COLUMN,
        positive_label="Yes",
        features=features,
        load=lambda _spark: table,
        events=source,
    )

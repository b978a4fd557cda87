"""Behavioural churn from an event log: one row per user, features from activity
before a cutoff, label = no activity within a horizon after it.

Generic over two canonical tables, so a built-in dataset and a user's own data
(a config mapping their columns onto these names) share it:

    events  user_id (long or string), item_id (string), ts (timestamp), value (double, nullable)
    items   item_id (string), title (string), year (double, nullable), genres (string, "A|B|C")

Two kinds of cutoff:

* `cutoff=None` (relative, the default): each user's cutoff is their first event
  plus `observe_days`. Everyone is observed for the same length of time from their
  start, so all users take part. A user whose cutoff + horizon lies after the last
  event in the log cannot be labelled yet and is left out (right-censored).
* `cutoff=<date>` (absolute): one calendar cutoff for everyone. Users with no
  activity before it are left out (nothing to predict from); with `lookback_days`
  only users active within that many days before it are kept.

All features are built with Spark SQL functions from events strictly before the
cutoff; nothing after it leaks in except the label.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from training.spark import one_row

USER, ITEM, TS, VALUE = "user_id", "item_id", "ts", "value"
TITLE, YEAR, GENRES = "title", "year", "genres"
GENRE_SEPARATOR = "|"
CUTOFF_COLUMN = "cutoff"
CHURN_COLUMN = "churned"  # "Yes" | "No"

_DAY_S = 86_400.0


@dataclass(frozen=True)
class ChurnWindow:
    """When features stop and how long a user must stay silent to count as churned."""

    horizon_days: int = 180
    observe_days: int = 7  # relative cutoff: days observed from each user's first event
    cutoff: date | None = None  # absolute cutoff instead of a relative one
    lookback_days: int | None = None  # absolute cutoff: keep only users active this recently

    def describe(self) -> str:
        if self.cutoff is None:
            where = f"{self.observe_days} days after each user's first event"
        else:
            where = f"{self.cutoff.isoformat()}" + (
                f" (users active in the {self.lookback_days} days before)" if self.lookback_days else ""
            )
        return f"cutoff {where}; churned = no activity in the {self.horizon_days} days after the cutoff"


def genre_feature(genre: str) -> str:
    """Column name of the share-of-events feature for one genre."""
    return "share_" + re.sub(r"[^a-z0-9]+", "_", genre.lower()).strip("_")


# Feature name → display label; the dataset spec picks labels from here.
BASE_FEATURES = {
    "events": "Ratings before the cutoff",
    "active_days": "Active days",
    "recency_days": "Days since last activity",
    "tenure_days": "Days from first to last activity",
    "trend": "Activity trend (late vs early half)",
    "distinct_items": "Distinct items",
    "value_mean": "Mean rating",
    "value_std": "Rating spread (std)",
    "item_popularity": "Mainstream taste (mean item users, log)",
    "item_year": "Mean release year",
    "distinct_genres": "Distinct genres",
}


def _cutoffs(events: DataFrame, window: ChurnWindow) -> DataFrame:
    """user_id, cutoff (epoch seconds) for every user that can be labelled."""
    seconds = F.col(TS).cast("double")
    last_event = one_row(events.agg(F.max(seconds)))[0]
    if window.cutoff is None:
        users = events.groupBy(USER).agg((F.min(seconds) + window.observe_days * _DAY_S).alias(CUTOFF_COLUMN))
    else:
        at = F.unix_timestamp(F.lit(window.cutoff.isoformat()).cast("timestamp")).cast("double")
        active = events.where(seconds < at)
        if window.lookback_days is not None:
            active = active.where(seconds >= at - window.lookback_days * _DAY_S)
        users = active.select(USER).distinct().withColumn(CUTOFF_COLUMN, at)
    # Censoring: the whole horizon must lie inside the log to know the label.
    return users.where(F.col(CUTOFF_COLUMN) + window.horizon_days * _DAY_S <= F.lit(last_event))


def observed_events(events: DataFrame, window: ChurnWindow) -> DataFrame:
    """Events before each kept user's cutoff (the activity the churn model sees), with the cutoff."""
    cut = _cutoffs(events, window)
    return events.join(cut, USER).where(F.col(TS).cast("double") < F.col(CUTOFF_COLUMN))


def _std(column: Column) -> Column:
    return F.coalesce(F.stddev_samp(column), F.lit(0.0))


def churn_table(events: DataFrame, items: DataFrame, window: ChurnWindow, genres: tuple[str, ...]) -> DataFrame:
    """user_id, churned ("Yes"/"No"), BASE_FEATURES and one share_<genre> per genre."""
    seconds = F.col(TS).cast("double")
    popularity = events.groupBy(ITEM).agg(F.log1p(F.countDistinct(USER)).alias("_popularity"))
    item_info = items.select(ITEM, YEAR, GENRES).join(popularity, ITEM, "left")
    seen = observed_events(events, window).join(item_info, ITEM, "left")
    day = F.floor(seconds / _DAY_S)
    # Position of each event inside the observed span, 0 = cutoff − span .. 1 = cutoff.
    genre_list = F.split(F.coalesce(F.col(GENRES), F.lit("")), re.escape(GENRE_SEPARATOR))
    aggregates = [
        F.count(F.lit(1)).alias("events"),
        # size(collect_set) rather than countDistinct: several distinct aggregates
        # make Spark expand every row once per aggregate (measured 5x slower here).
        F.size(F.collect_set(day)).alias("active_days"),
        ((F.first(CUTOFF_COLUMN) - F.max(seconds)) / _DAY_S).alias("recency_days"),
        ((F.max(seconds) - F.min(seconds)) / _DAY_S).alias("tenure_days"),
        F.min(seconds).alias("_first"),
        F.first(CUTOFF_COLUMN).alias(CUTOFF_COLUMN),
        F.size(F.collect_set(ITEM)).alias("distinct_items"),
        F.avg(VALUE).alias("value_mean"),
        _std(F.col(VALUE)).alias("value_std"),
        F.avg("_popularity").alias("item_popularity"),
        F.avg(YEAR).alias("item_year"),
        F.size(F.array_distinct(F.flatten(F.collect_list(genre_list)))).alias("distinct_genres"),
        *(F.avg(F.array_contains(genre_list, g).cast("double")).alias(genre_feature(g)) for g in genres),
    ]
    per_user = seen.groupBy(USER).agg(*aggregates)
    # Trend: (events in the later half of the user's observed span − earlier half) / events, in [-1, 1].
    midpoint = seen.join(per_user.select(USER, "_first"), USER).withColumn(
        "_late", (seconds >= (F.col("_first") + F.col(CUTOFF_COLUMN)) / 2).cast("int")
    )
    trend = midpoint.groupBy(USER).agg(((2 * F.sum("_late") - F.count(F.lit(1))) / F.count(F.lit(1))).alias("trend"))
    after = (
        events.join(per_user.select(USER, CUTOFF_COLUMN), USER)
        .where((seconds >= F.col(CUTOFF_COLUMN)) & (seconds < F.col(CUTOFF_COLUMN) + window.horizon_days * _DAY_S))
        .select(USER)
        .distinct()
        .withColumn("_returned", F.lit(1))
    )
    table = per_user.join(trend, USER).join(after, USER, "left")
    churned = F.when(F.col("_returned").isNull(), "Yes").otherwise("No").alias(CHURN_COLUMN)
    features = [*BASE_FEATURES, *(genre_feature(g) for g in genres)]
    return table.select(USER, churned, *(F.col(f).cast("double").alias(f) for f in features))


def item_sequences(events: DataFrame, extra: tuple[str, ...] = ()) -> DataFrame:
    """user_id, items: each user's item IDs in time order (ties broken by item ID); `extra` columns,
    constant per user, are kept."""
    ordered = F.array_sort(F.collect_list(F.struct(F.col(TS).cast("double").alias("t"), F.col(ITEM).alias("i"))))
    return events.groupBy(USER, *extra).agg(F.transform(ordered, lambda e: e["i"]).alias("items"))


@dataclass(frozen=True)
class EventSource:
    """Where a dataset's events and items come from, and how churn is defined on them."""

    load: Callable[[SparkSession], tuple[DataFrame, DataFrame]]  # (events, items), canonical columns
    window: ChurnWindow | None  # None: the label comes from a customer table; events only feed item vectors
    genres: tuple[str, ...]  # one share_<genre> feature each

    def describe(self) -> str:
        return self.window.describe() if self.window else "none: the churn label comes from the customer table"

    def churn_table(self, spark: SparkSession) -> DataFrame:
        if self.window is None:
            raise ValueError("an EventSource without a churn window has no behavioural churn table")
        events, items = self.load(spark)
        # Materialised once: validation and splitting read it several times, and
        # its plan (joins, windows of events) should not run again for each.
        return churn_table(events, items, self.window, self.genres).localCheckpoint(eager=True)

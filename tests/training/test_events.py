"""Behavioural churn on tiny hand-made event logs: labels, censoring, exclusions, features."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from training import events as ev

T0 = datetime(2020, 1, 1, 12, 0, 0)


def _frames(spark, rows):
    events = spark.createDataFrame(
        [(u, i, T0 + timedelta(days=d), v) for u, i, d, v in rows],
        f"{ev.USER} long, {ev.ITEM} string, {ev.TS} timestamp, {ev.VALUE} double",
    )
    items = spark.createDataFrame(
        [
            ("a", "A", 1990.0, "Drama"),
            ("b", "B", 2000.0, "Comedy|Drama"),
            ("c", "C", 2010.0, "Action"),
            ("z", "Z", 2020.0, "Drama"),
        ],
        f"{ev.ITEM} string, {ev.TITLE} string, {ev.YEAR} double, {ev.GENRES} string",
    )
    return events, items


ROWS = [
    # user 1: active on day 0 and day 5, returns on day 20 → stayed
    (1, "a", 0, 4.0), (1, "b", 5, 2.0), (1, "c", 20, 5.0),
    # user 2: day 0 only, silent afterwards → churned
    (2, "c", 0, 3.0),
    # user 3: first seen on day 90, its horizon runs past the last event → censored
    (3, "a", 90, 5.0),
    # last event of the log (day 100) fixes how far labels can be known
    (4, "z", 0, 1.0), (4, "z", 100, 1.0),
]  # fmt: skip


def test_relative_window_labels_features_and_censoring(spark):
    events, items = _frames(spark, ROWS)
    window = ev.ChurnWindow(observe_days=7, horizon_days=30)
    table = {r[ev.USER]: r for r in ev.churn_table(events, items, window, ("Drama", "Action")).collect()}
    assert set(table) == {1, 2, 4}  # user 3 censored
    assert (table[1][ev.CHURN_COLUMN], table[2][ev.CHURN_COLUMN], table[4][ev.CHURN_COLUMN]) == ("No", "Yes", "Yes")
    one = table[1]
    assert one["events"] == 2 and one["active_days"] == 2
    assert one["tenure_days"] == pytest.approx(5.0)
    assert one["recency_days"] == pytest.approx(2.0)  # cutoff day 7 − last event day 5
    assert one["value_mean"] == pytest.approx(3.0)
    assert one["item_year"] == pytest.approx(1995.0)
    assert one["share_drama"] == pytest.approx(1.0) and one["share_action"] == pytest.approx(0.0)
    assert one["distinct_genres"] == 2
    assert one["trend"] == pytest.approx(0.0)  # one event in each half of days 0..7
    assert table[2]["trend"] == pytest.approx(-1.0)
    # The day-20 event lies after the cutoff: it decides the label, never a feature.
    assert table[2]["events"] == 1 and table[2]["share_action"] == pytest.approx(1.0)


def test_absolute_cutoff_excludes_users_without_earlier_activity(spark):
    events, items = _frames(spark, ROWS)
    window = ev.ChurnWindow(cutoff=date(2020, 1, 10), horizon_days=30)
    table = {r[ev.USER]: r[ev.CHURN_COLUMN] for r in ev.churn_table(events, items, window, ()).collect()}
    assert table == {1: "No", 2: "Yes", 4: "Yes"}  # user 3 had no activity before the cutoff
    recent = ev.ChurnWindow(cutoff=date(2020, 1, 10), horizon_days=30, lookback_days=5)
    assert {r[ev.USER] for r in ev.churn_table(events, items, recent, ()).collect()} == {1}


def test_item_sequences_follow_time_order(spark):
    events, _ = _frames(spark, [(1, "c", 5, None), (1, "a", 1, None), (1, "b", 3, None), (2, "z", 0, None)])
    sequences = {r[ev.USER]: r["items"] for r in ev.item_sequences(events).collect()}
    assert sequences == {1: ["a", "b", "c"], 2: ["z"]}

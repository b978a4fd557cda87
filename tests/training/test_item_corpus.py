"""Item vectors' corpus: a seeded sample of whole sequences beyond the per-item budget, and a fit
that depends on neither the input's partitioning nor its order."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
from pyspark.sql import functions as F

from training import events as ev
from training import items
from training.datasets.synthetic import event_source

CUSTOMERS, PER_CUSTOMER = 600, 12


def _events(spark):
    events, _ = event_source(CUSTOMERS, PER_CUSTOMER, 3).load(spark)
    return events.cache()


def _sequences(frame) -> dict:
    return {r[ev.USER]: list(r["items"]) for r in frame.collect()}


def test_corpus_samples_whole_sequences_by_seed(spark):
    events = _events(spark)
    full = _sequences(ev.item_sequences(events))
    total = sum(len(s) for s in full.values())
    settings = dataclasses.replace(items.Word2VecParams(), max_events_per_item=10)  # 210 items → ~2,100 events
    ordered, info = items.corpus(events, settings, seed=42)
    assert info["events"] == total and info["vocabulary"] == 210
    assert info["sample_fraction"] == round(10 * 210 / total, 6) < 1
    assert ordered.rdd.getNumPartitions() == 1  # what makes Word2Vec's split independent of scheduling
    kept = [list(r["items"]) for r in ordered.collect()]
    kept_events = sum(len(s) for s in kept)
    assert abs(kept_events - 2100) < 0.25 * 2100  # whole customers are kept, so roughly, not exactly
    # Every kept sequence is one customer's whole, time-ordered sequence.
    whole = sorted(map(tuple, full.values()))
    assert all(tuple(s) in set(whole) for s in kept)
    again, _ = items.corpus(events.repartition(5), settings, seed=42)
    assert [list(r["items"]) for r in again.collect()] == kept  # same sample, same order
    other, _ = items.corpus(events, settings, seed=43)
    assert [list(r["items"]) for r in other.collect()] != kept


def test_corpus_keeps_everything_under_the_budget_or_when_told(spark):
    events = _events(spark)
    for per_item in (10_000, 0):
        settings = dataclasses.replace(items.Word2VecParams(), max_events_per_item=per_item)
        ordered, info = items.corpus(events, settings, seed=1)
        assert info["sample_fraction"] == 1.0
        assert ordered.count() == events.select(ev.USER).distinct().count()


def test_fit_does_not_depend_on_input_partitioning_or_order(spark):
    events = _events(spark)
    settings = dataclasses.replace(items.Word2VecParams(), vectorSize=16, maxIter=2)
    assert settings.numPartitions == 1  # more would let tasks race on shared arrays (docs/item-vectors.md)
    vectors = []
    for shuffled in (events, events.repartition(7, F.rand(5)).sortWithinPartitions(F.rand(6))):
        ordered, _ = items.corpus(shuffled, settings, seed=9)
        model, _ = items._fit(ordered, settings, seed=9)
        vectors.append(items._vectors(model))
    (ids_a, a), (ids_b, b) = vectors
    assert list(ids_a) == list(ids_b) and len(ids_a) == 210
    assert np.array_equal(a, b)  # bit for bit


def _exchanges(frame) -> list[str]:
    """The shuffles Spark plans for `frame` (its physical plan's Exchange nodes, AQE off)."""
    plan = frame._jdf.queryExecution().executedPlan().toString()
    # Tree drawing and plan ids differ from one planning to the next.
    return [re.sub(r"^[\s:+|-]*|, \[plan_id=\d+\]", "", line) for line in plan.splitlines() if "Exchange" in line]


def test_events_are_shuffled_once_for_users_per_item_sequences_and_recent_items(spark):
    """`by_user` is the item stage's one shuffle of the events; the three consumers add none of
    their own beyond small ones (per-item counts, the sampled corpus, the broadcast IDs)."""
    from pyspark.sql import functions as F

    events, _ = event_source(300, 5, 2).load(spark)
    customers = spark.range(1, 301).select(F.col("id").alias("customer_id"))
    ranged = items.by_user(events, customers)
    adaptive = spark.conf.get("spark.sql.adaptive.enabled")
    spark.conf.set("spark.sql.adaptive.enabled", "false")  # AQE would only show the plan it starts from
    try:
        ours = [e for e in _exchanges(ranged) if "rangepartitioning" in e]
        assert len(ours) == 1
        recent = _exchanges(items.recent_items(ranged, customers, 500))
        assert [e for e in recent if "Broadcast" not in e] == ours  # window and global sort: no new shuffle
        per_item = _exchanges(ranged.groupBy(ev.ITEM).agg(F.count(F.lit(1)), F.countDistinct(ev.USER)))
        assert [e for e in per_item if "rangepartitioning" not in e and "item_id" not in e] == []
        sequences, _ = items.corpus(ranged, dataclasses.replace(items.Word2VecParams(), max_events_per_item=2), 1)
        assert [e for e in _exchanges(sequences) if "SinglePartition" not in e] == ours
    finally:
        spark.conf.set("spark.sql.adaptive.enabled", adaptive)

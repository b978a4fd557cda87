"""The stratified split and the feature encoding."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.sql import functions as F

from runtime.encoding import grouping_matrix
from training import features
from training.spark import one_row
from training.split import assign_split
from training.validate import validate


@pytest.fixture(scope="module")
def typed(spark, telco_spec):
    return validate(telco_spec.load(spark), telco_spec).cache()


def test_split_is_stratified_and_reproducible(typed):
    split, summary = assign_split(typed, 0.2, seed=7)
    assert summary.train_rows + summary.test_rows == 7043
    assert summary.test_rows == pytest.approx(0.2 * 7043, abs=3)
    assert summary.test_label_rate == pytest.approx(summary.train_label_rate, abs=0.002)
    again, _ = assign_split(typed.repartition(5), 0.2, seed=7)
    other, _ = assign_split(typed, 0.2, seed=8)

    def test_ids(frame):
        return {r.customer_id for r in frame.where(F.col("split") == "test").select("customer_id").collect()}

    assert test_ids(split) == test_ids(again)
    assert test_ids(split) != test_ids(other)


def test_encoding_slots_match_the_assembled_vector(typed, telco_spec):
    model = features.build_pipeline(telco_spec).fit(typed)
    slots = features.encoding_slots(model, telco_spec)
    width = one_row(features.encode(model, typed))[features.FEATURES_COLUMN].size
    assert len(slots) == width
    contract = [s["category"] for s in slots if s["feature"] == "contract"]
    assert sorted(contract) == ["Month-to-month", "One year", "Two year"]
    fill = next(s["fill"] for s in slots if s["feature"] == "total_charges")
    assert fill == pytest.approx(typed.approxQuantile("total_charges", [0.5], 0.0)[0], rel=0.01)
    grouping = grouping_matrix(slots, telco_spec.feature_names)
    assert np.all(grouping.sum(axis=1) == 1)
    assert grouping.sum(axis=0)[telco_spec.feature_names.index("contract")] == 3


def test_unseen_category_encodes_as_all_zeros(typed, telco_spec):
    model = features.build_pipeline(telco_spec).fit(typed)
    slots = features.encoding_slots(model, telco_spec)
    odd = typed.limit(1).withColumn("contract", F.lit("Ten year"))
    vector = one_row(features.encode(model, odd))[features.FEATURES_COLUMN].toArray()
    contract = [i for i, s in enumerate(slots) if s["feature"] == "contract"]
    assert np.all(vector[contract] == 0)


def test_a_split_side_without_both_classes_is_refused(typed):
    few = typed.where(F.col("label") == 0).limit(50).union(typed.where(F.col("label") == 1).limit(1))
    with pytest.raises(ValueError, match="split has no churned or no retained customers"):
        assign_split(few, 0.2, seed=7)


def test_large_tables_are_spread_over_partitions_of_bounded_size_and_small_ones_kept(spark, monkeypatch):
    from training.stages import prepare as pipeline

    table = spark.range(1, 11).withColumnRenamed("id", "customer_id").coalesce(1)
    monkeypatch.setattr(pipeline, "ROWS_PER_PARTITION", 3)
    spread = pipeline._sized(table, 10)
    assert spread.rdd.getNumPartitions() == 4
    assert sorted(r.customer_id for r in spread.collect()) == list(range(1, 11))
    monkeypatch.setattr(pipeline, "ROWS_PER_PARTITION", 100)
    assert pipeline._sized(table, 10) is table  # already small enough: same layout, same results

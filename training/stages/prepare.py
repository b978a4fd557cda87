"""Stages ingest → validate → split → features: the typed, split, encoded customer table."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from bundle import layout
from training import features
from training.datasets import DatasetSpec
from training.split import SplitSummary, assign_split
from training.stages.timings import Timings
from training.validate import validate

log = logging.getLogger("training")

# Cached partitions stay small: a partition is cached as one block, and two tasks each unrolling
# a 500,000-row block (the synthetic generator's two partitions at a million customers) ran
# Spark's default 1g heap out of memory while caching the encoded table.
ROWS_PER_PARTITION = 100_000


@dataclass
class Prepared:
    raw: DataFrame
    fingerprint: str
    table: DataFrame  # typed features + label + split, cached
    split: SplitSummary
    pipeline_model: PipelineModel
    encoded: DataFrame  # `table` + Spark's feature vector, cached
    train: DataFrame  # the training rows of `encoded`, cached
    slots: list[dict]  # the manifest's `encoding`

    def unpersist(self) -> None:
        for cached in (self.train, self.encoded, self.table):
            cached.unpersist()


def fingerprint(table: DataFrame) -> str:
    """Order-independent digest of every value: row count + sum of row hashes mod 2^64."""
    row = table.agg(
        F.count(F.lit(1)).alias("n"), F.sum(F.xxhash64(*table.columns).cast("decimal(38,0)")).alias("h")
    ).collect()[0]
    return f"rows={row['n']};xxhash64sum={int(row['h'] or 0) % 2**64:016x}"


def _sized(table: DataFrame, rows: int) -> DataFrame:
    """`table` spread over at least rows / ROWS_PER_PARTITION partitions (by customer ID); unchanged
    when it already has that many, so small datasets keep their layout and their results."""
    wanted = -(-rows // ROWS_PER_PARTITION)
    if table.rdd.getNumPartitions() >= wanted:
        return table
    log.info("spreading %d rows over %d partitions", rows, wanted)
    return table.repartition(wanted, F.col(layout.ID_COLUMN))


def _sample(table: DataFrame, rows: int | None, seed: int) -> DataFrame:
    if rows is None:
        return table
    return table.orderBy(F.xxhash64(F.lit(seed + 1), F.col(layout.ID_COLUMN))).limit(rows)


def prepare(
    spark: SparkSession,
    spec: DatasetSpec,
    raw: DataFrame | None,
    timings: Timings,
    sample: int | None,
    test_fraction: float,
    seed: int,
) -> Prepared:
    with timings.stage("ingest"):
        raw = raw if raw is not None else spec.load(spark)
    with timings.stage("validate"):
        typed = _sample(validate(raw, spec), sample, seed).cache()
        dataset_print = fingerprint(typed)
    with timings.stage("split"):
        table, split = assign_split(typed, test_fraction, seed)
        table = _sized(table, split.train_rows + split.test_rows).cache()
        table.count()
        typed.unpersist()  # `table` holds the same rows from here on
        log.info("split: %d train / %d test rows", split.train_rows, split.test_rows)
    with timings.stage("features"):
        pipeline_model = features.build_pipeline(spec).fit(table.where(F.col(layout.SPLIT_COLUMN) == "train"))
        encoded = features.encode(pipeline_model, table).cache()
        slots = features.encoding_slots(pipeline_model, spec)
        train = encoded.where(F.col(layout.SPLIT_COLUMN) == "train").cache()
    return Prepared(raw, dataset_print, table, split, pipeline_model, encoded, train, slots)

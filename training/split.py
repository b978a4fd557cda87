"""A reproducible stratified train/test split.

Each customer's side is decided by a hash of (seed, customer ID) compared with a
per-class quantile of those hashes, so the split is the same on any cluster
layout, exact per class up to ties, and costs one aggregation, not a global sort.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bundle import layout

_HASH = "_split_hash"


@dataclass(frozen=True)
class SplitSummary:
    seed: int
    test_fraction: float
    train_rows: int
    test_rows: int
    train_label_rate: float
    test_label_rate: float

    def as_manifest(self) -> dict:
        return {"method": "stratified by label; xxhash64(seed, customer_id) per-class quantile", **self.__dict__}


def assign_split(table: DataFrame, test_fraction: float, seed: int) -> tuple[DataFrame, SplitSummary]:
    """Add a `split` column ("train" | "test"), stratified by label."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    hashed = table.withColumn(_HASH, F.xxhash64(F.lit(seed), F.col(layout.ID_COLUMN)))
    cutoffs = hashed.groupBy(layout.LABEL_COLUMN).agg(
        F.percentile_approx(_HASH, 1.0 - test_fraction, 1_000_000).alias("_cutoff")
    )
    split = (
        hashed.join(F.broadcast(cutoffs), layout.LABEL_COLUMN)
        .withColumn(layout.SPLIT_COLUMN, F.when(F.col(_HASH) > F.col("_cutoff"), "test").otherwise("train"))
        .drop(_HASH, "_cutoff")
    )
    stats = {
        row[layout.SPLIT_COLUMN]: row
        for row in split.groupBy(layout.SPLIT_COLUMN)
        .agg(F.count(F.lit(1)).alias("rows"), F.avg(layout.LABEL_COLUMN).alias("rate"))
        .collect()
    }
    # Both sides need both classes: models cannot train, nor ROC AUC be measured, on one.
    for side in ("train", "test"):
        if side not in stats or not 0.0 < stats[side]["rate"] < 1.0:
            raise ValueError(
                f"the {side} split has no churned or no retained customers; use more rows "
                f"(or another test fraction than {test_fraction})"
            )
    summary = SplitSummary(
        seed=seed,
        test_fraction=test_fraction,
        train_rows=stats["train"]["rows"],
        test_rows=stats["test"]["rows"],
        train_label_rate=float(stats["train"]["rate"]),
        test_label_rate=float(stats["test"]["rate"]),
    )
    return split, summary

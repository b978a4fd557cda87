"""Spark's globally sorted output as Parquet part files in the run's scratch folder.

Shared by the explain stage's wide result (`training.publish`) and the item vectors'
recent items (`training.items`); neither imports the other for it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from bundle import layout


def write_sorted(frame: DataFrame, target: Path) -> list[Path]:
    """Spark writes a globally sorted DataFrame (`orderBy`) as Parquet part files into `target`
    (a folder of the run's scratch area); returns them in sort order. Nothing is collected."""
    frame.write.mode("overwrite").parquet(target.resolve().as_uri())
    return scored_files(target)


def scored_files(target: Path) -> list[Path]:
    # Part files are numbered by task = range partition of the sort, so name order is ID order.
    return sorted(p for p in target.glob("part-*") if p.suffix == ".parquet" or p.name.endswith(".parquet"))


def seeded_rows(rows: DataFrame, salt: int, limit: int, columns: list[Column]) -> pd.DataFrame:
    """ID, label (0/1) and `columns` of every row up to `limit`, else of the first `limit` by
    xxhash64(salt, customer_id): a sample that depends on the data and the seed only. Sorted by ID."""
    order = F.xxhash64(F.lit(salt), F.col(layout.ID_COLUMN))
    picked = rows.orderBy(order, layout.ID_COLUMN).limit(limit)
    frame = picked.select(
        layout.ID_COLUMN, F.col(layout.LABEL_COLUMN).cast("int").alias(layout.LABEL_COLUMN), *columns
    ).toPandas()
    return pd.DataFrame(frame).sort_values(layout.ID_COLUMN, kind="stable").reset_index(drop=True)

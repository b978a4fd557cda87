"""Spark's globally sorted output as Parquet part files in the run's scratch folder.

Shared by the explain stage's wide result (`training.publish`) and the item vectors'
recent items (`training.items`); neither imports the other for it."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame


def write_sorted(frame: DataFrame, target: Path) -> list[Path]:
    """Spark writes a globally sorted DataFrame (`orderBy`) as Parquet part files into `target`
    (a folder of the run's scratch area); returns them in sort order. Nothing is collected."""
    frame.write.mode("overwrite").parquet(target.resolve().as_uri())
    return scored_files(target)


def scored_files(target: Path) -> list[Path]:
    # Part files are numbered by task = range partition of the sort, so name order is ID order.
    return sorted(p for p in target.glob("part-*") if p.suffix == ".parquet" or p.name.endswith(".parquet"))

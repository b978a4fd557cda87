"""Reading a user's table (CSV or Parquet) with Spark, shared by inference, own events and batch scoring."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from training import feature_types as ft
from training.datasets.config import TableSource
from training.datasets.decide import INTEGER_ID as _INTEGER_ID
from training.datasets.local_table import TableError
from training.text import shown


def read_table(spark: SparkSession, source: TableSource) -> DataFrame:
    """The table as Spark reads it; CSV columns stay text until inference types them."""
    try:
        if source.format == "parquet":
            return spark.read.parquet(source.path)
        table = (
            spark.read.option("header", source.header)
            .option("sep", source.delimiter)
            .option("encoding", source.encoding)
            # Standard CSV (RFC 4180, what spreadsheets and Python's csv write): a quote inside a
            # quoted field is doubled. Spark's default escape is a backslash, which leaves `""` in.
            .option("quote", '"')
            .option("escape", '"')
            .option("inferSchema", False)
            .option("mode", "FAILFAST")
            .csv(source.path)
        )
    except Exception as exc:  # AnalysisException (path not found, unreadable): tell the user which file
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TableError(f"cannot read {source.format} table {source.path}: {message}") from None
    nulls = [v for v in source.null_values if v != ""]
    # Spark already reads empty CSV fields as NULL; other null markers ("NA", "?") are mapped here.
    if nulls:
        table = table.select(
            *(F.when(ft.raw_col(c).isin(*nulls), F.lit(None)).otherwise(ft.raw_col(c)).alias(c) for c in table.columns)
        )
    return table


def with_integer_ids(table: DataFrame, id_column: str | None) -> DataFrame:
    """Text IDs that are all plain whole numbers become integers (as a CSV would have meant them)."""
    if (
        id_column is None
        or id_column not in table.columns
        or not isinstance(table.schema[id_column].dataType, T.StringType)
    ):
        return table
    column = ft.raw_col(id_column)
    counted = table.agg(F.sum(F.when(column.isNotNull() & ~column.rlike(_INTEGER_ID), 1).otherwise(0)).alias("n"))
    bad = counted.collect()[0]["n"]
    if bad:
        return table
    return table.withColumn(id_column, column.cast("long"))


def column_list(columns: list[str], limit: int = 12) -> str:
    listed = ", ".join(shown(c) for c in columns[:limit])
    return listed + (f", … ({len(columns)} in all)" if len(columns) > limit else "")

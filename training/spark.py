"""The only place a SparkSession is built.

Master precedence: an explicit `--master`, then whatever spark-submit or
spark-defaults.conf set, then `local[*]` as a fallback for a laptop run.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import tempfile
import zipfile
from pathlib import Path

from pyspark import SparkConf, SparkContext
from pyspark.sql import DataFrame, Row, SparkSession

log = logging.getLogger(__name__)


# A driver JVM that runs for seconds spends more CPU in C2, the optimising JIT compiler, than C2
# then saves: explaining a 10,000-customer table, the JVM used 36 CPU-seconds with the default
# tiered compilation and 21 with C1 alone, and 70 against 47 at 100,000 (2 cores, so the
# compiler threads take time from the work). Commands that only score and explain (`training
# score`, snapshots) give inputs of up to 200,000 rows C1 alone; larger ones, training (Word2Vec's fit ran
# minutes instead of 26 s on C1 alone) and JVMs started by spark-submit keep the default.
SMALL_INPUT_ROWS = 200_000
CSV_BYTES_PER_ROW = 64  # a row-count estimate for text files that errs towards more rows
QUICK_JVM = {"spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1"}


def local_input_rows(paths: list[str]) -> int | None:
    """Rows in the input files (folders: every file below): Parquet's from its footer, other files
    estimated from their size; None when one is not a local path or cannot be read (the JVM is
    then sized for any size)."""
    import pyarrow.parquet as pq

    total = 0
    for text in paths:
        if "://" in text and not text.startswith("file://"):
            return None
        path = Path(text.removeprefix("file://"))
        try:
            files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file() and p.stat().st_size]
            if not files:
                return None
            for file in files:
                is_parquet = file.suffix == ".parquet" or file.name.startswith("part-")
                total += (
                    pq.ParquetFile(file).metadata.num_rows if is_parquet else file.stat().st_size // CSV_BYTES_PER_ROW
                )
        except (OSError, ValueError):
            return None
    return total


def jvm_options(input_rows: int | None) -> dict[str, str]:
    """Driver JVM settings for an input of this many rows (`CHURNLENS_QUICK_JVM=0` turns them off)."""
    if input_rows is None or input_rows > SMALL_INPUT_ROWS or os.environ.get("CHURNLENS_QUICK_JVM") == "0":
        return {}
    return dict(QUICK_JVM)


def configured_master(launch: dict[str, str] | None = None) -> str | None:
    """The master spark-submit or spark-defaults.conf gave the JVM, if any. Starting the JVM here
    (no spark-submit), `launch` settings go to its command line."""
    launch_conf = SparkConf(loadDefaults=False).setAll(list((launch or {}).items()))
    SparkContext._ensure_initialized(conf=launch_conf)  # connects to spark-submit's JVM when there is one
    conf = SparkConf()
    return conf.get("spark.master") if conf.contains("spark.master") else None


def one_row(frame: DataFrame) -> Row:
    """`frame.first()` where a row must exist (an aggregate without groupBy always has one)."""
    row = frame.first()
    if row is None:
        raise RuntimeError("expected one row from Spark, got an empty result")
    return row


def get_spark(app_name: str = "churnlens", master: str | None = None, input_rows: int | None = None) -> SparkSession:
    """The session; `input_rows` (from `local_input_rows`, None when unknown) sizes a driver JVM
    this call starts (`jvm_options`)."""
    # Workers must run the same interpreter (and venv) as the driver.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    chosen = master
    if chosen is None or chosen.startswith("local"):
        # Keep local traffic on loopback; must be set before the JVM starts.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    launch = jvm_options(input_rows)
    chosen = chosen or configured_master(launch) or "local[*]"
    builder = (
        SparkSession.builder.appName(app_name)
        .master(chosen)
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.showConsoleProgress", "false")
    )
    if chosen.startswith("local"):
        builder = (
            builder.config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.sql.shuffle.partitions", "8")
            .config("spark.ui.enabled", "false")
        )
    for key, value in launch.items():  # read only where this call starts the JVM
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    _ship_code(spark)
    log.info(
        "Spark %s on %s (%d cores)", spark.version, spark.sparkContext.master, spark.sparkContext.defaultParallelism
    )
    return spark


# The installed packages Spark's Python workers import (the explain, PDP and scoring passes).
EXECUTOR_PACKAGES = ("training", "runtime", "analytics", "bundle", "store")


def _ship_code(spark: SparkSession) -> None:
    """Send the installed churnlens packages (pyproject.toml) to every executor's Python path.

    Batch SHAP runs our functions inside Python workers; on a cluster whose executors
    lack this install they could not import them otherwise. The sources come from where
    the driver imports them (the editable install of `make`), never from a path guess.
    """
    archive = Path(tempfile.mkdtemp(prefix="churnlens-")) / "churnlens_code.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for package in EXECUTOR_PACKAGES:
            spec = importlib.util.find_spec(package)
            if spec is None or not spec.submodule_search_locations:
                raise RuntimeError(f"package {package!r} is not installed; run `make` (pip install -e .)")
            folder = Path(next(iter(spec.submodule_search_locations)))
            for source in folder.rglob("*.py"):
                zipped.write(source, (Path(package) / source.relative_to(folder)).as_posix())
    spark.sparkContext.addPyFile(str(archive))

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


def configured_master() -> str | None:
    """The master spark-submit or spark-defaults.conf gave the JVM, if any."""
    SparkContext._ensure_initialized()  # connects to spark-submit's JVM when there is one
    conf = SparkConf()
    return conf.get("spark.master") if conf.contains("spark.master") else None


def one_row(frame: DataFrame) -> Row:
    """`frame.first()` where a row must exist (an aggregate without groupBy always has one)."""
    row = frame.first()
    if row is None:
        raise RuntimeError("expected one row from Spark, got an empty result")
    return row


def get_spark(app_name: str = "churnlens", master: str | None = None) -> SparkSession:
    # Workers must run the same interpreter (and venv) as the driver.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    chosen = master
    if chosen is None or chosen.startswith("local"):
        # Keep local traffic on loopback; must be set before the JVM starts.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    chosen = chosen or configured_master() or "local[*]"
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

"""The only place a SparkSession is built.

Master precedence: an explicit `--master`, then whatever spark-submit or
spark-defaults.conf set, then `local[*]` as a fallback for a laptop run.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import zipfile
from pathlib import Path

from pyspark import SparkConf, SparkContext
from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


def configured_master() -> str | None:
    """The master spark-submit or spark-defaults.conf gave the JVM, if any."""
    SparkContext._ensure_initialized()  # connects to spark-submit's JVM when there is one
    conf = SparkConf()
    return conf.get("spark.master") if conf.contains("spark.master") else None


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
    log.info("Spark %s on %s (%d cores)", spark.version, spark.sparkContext.master, spark.sparkContext.defaultParallelism)
    return spark


def _ship_code(spark: SparkSession) -> None:
    """Send `training` and `bundle` to every executor's Python path.

    Batch SHAP runs our functions inside Python workers; on a cluster (or from
    another working directory) they cannot import this package otherwise.
    """
    root = Path(__file__).resolve().parents[1]
    archive = Path(tempfile.mkdtemp(prefix="churnlens-")) / "churnlens_code.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for package in ("training", "bundle"):
            for source in (root / package).rglob("*.py"):
                zipped.write(source, source.relative_to(root).as_posix())
    spark.sparkContext.addPyFile(str(archive))

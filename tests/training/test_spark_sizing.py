"""The driver JVM of a scoring command is sized to the input: C1-only compilation for small local
inputs, Spark's defaults for large or remote ones (see `training.spark.jvm_options`)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from training.spark import CSV_BYTES_PER_ROW, QUICK_JVM, SMALL_INPUT_ROWS, jvm_options, local_input_rows


def test_parquet_rows_come_from_footers_and_text_rows_from_size(tmp_path):
    (tmp_path / "customers.csv").write_bytes(b"x" * (CSV_BYTES_PER_ROW * 10))
    folder = tmp_path / "events.parquet"
    (folder / "day=1").mkdir(parents=True)
    pq.write_table(pa.table({"a": list(range(300))}), folder / "day=1" / "part-0.parquet")
    (folder / "_SUCCESS").write_bytes(b"")  # empty marker files are skipped
    assert local_input_rows([str(tmp_path / "customers.csv")]) == 10
    assert local_input_rows([str(tmp_path / "customers.csv"), str(folder)]) == 310
    assert local_input_rows([(tmp_path / "customers.csv").as_uri()]) == 10


def test_remote_missing_or_empty_inputs_are_unknown(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    assert local_input_rows(["s3a://bucket/customers.parquet"]) is None
    assert local_input_rows(["hdfs://nn/customers"]) is None
    assert local_input_rows([str(tmp_path / "missing.csv")]) is None
    assert local_input_rows([str(tmp_path / "empty")]) is None
    assert local_input_rows([str(tmp_path / "broken.parquet")]) is None


def test_only_small_known_inputs_get_the_quick_jvm(monkeypatch):
    monkeypatch.delenv("CHURNLENS_QUICK_JVM", raising=False)
    assert jvm_options(10_000) == QUICK_JVM
    assert jvm_options(SMALL_INPUT_ROWS) == QUICK_JVM
    assert jvm_options(SMALL_INPUT_ROWS + 1) == {}
    assert jvm_options(None) == {}
    monkeypatch.setenv("CHURNLENS_QUICK_JVM", "0")
    assert jvm_options(10_000) == {}


def test_a_jvm_started_for_a_small_input_runs_c1_only():
    """Started with no master (spark-submit's or spark-defaults' would win), the JVM's command line
    carries the option: it is given at launch, not after."""
    import os
    import subprocess
    import sys

    probe = (
        "from training.spark import get_spark\n"
        "spark = get_spark('probe', None, 10_000)\n"
        "bean = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()\n"
        "print('ARGS', list(bean.getInputArguments()))\n"
        "spark.stop()\n"
    )
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable}
    env.pop("CHURNLENS_QUICK_JVM", None)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=300)
    line = next(line for line in done.stdout.splitlines() if line.startswith("ARGS"))
    assert "-XX:TieredStopAtLevel=1" in line, done.stderr[-2000:]

"""`init-config` on a local file: pyarrow reads, `decide` decides, and the training run's Spark
inference agrees column for column; no pyspark is imported."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import tomllib

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from tests.conftest import REPO
from training.__main__ import main
from training.datasets.config_sections import TableSource
from training.datasets.decide import NUMBER_PATTERN, Decision
from training.datasets.infer import infer
from training.datasets.local_table import infer_local, read_sample
from training.datasets.starter import MAX_CATEGORIES, NULL_VALUES
from training.datasets.tables import read_table
from training.feature_types import as_double

ROWS = 300


def tricky_frame(rows: int = ROWS) -> pd.DataFrame:
    """Columns where a reader could go wrong: ID-like whole numbers, numbers as text with blanks,
    booleans in several spellings, dates, high-cardinality text, constants, empties."""
    rng = np.random.default_rng(11)
    charges = rng.uniform(10, 99, rows).round(2).astype(str).astype(object)
    charges[::17], charges[5::23] = "", "NA"
    padded = np.array([f" {v} " for v in rng.integers(0, 40, rows)], dtype=object)
    return pd.DataFrame(
        {
            "customer_id": rng.permutation(rows) + 1000,  # whole numbers, all different, named like an ID
            "visits": rng.permutation(rows),  # all different, not named like an ID: a number
            "churn": rng.choice(["Yes", "No"], rows),
            "charges": charges,
            "padded": padded,
            "senior": rng.choice(["Y", "N"], rows),
            "active": rng.choice(["true", "false"], rows),
            "flag": rng.choice(["0", "1"], rows),
            "signup": [str(dt.date(2024, 1, 1) + dt.timedelta(days=int(d))) for d in rng.integers(0, 30, rows)],
            "email": [f"user{i}@example.com" for i in range(rows)],
            "city": [f"city-{i % 80}" for i in range(rows)],
            "plan": rng.choice(["basic", "plus", "pro"], rows),
            "score": rng.normal(0, 1, rows).round(4).astype(str),
            "constant": ["x"] * rows,
            "empty": [""] * rows,
        }
    )


def _comparable(decisions: list[Decision]) -> list[tuple]:
    # Spark counts distinct values with HyperLogLog, the local reader exactly: compare the counts loosely.
    return [(d.column, d.type, d.positive, d.negative, re.sub(r"about \d+", "about N", d.reason)) for d in decisions]


@pytest.fixture(scope="module")
def tricky_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("local") / "tricky.csv"
    tricky_frame().to_csv(path, index=False)
    return path


def test_local_and_spark_inference_agree_on_tricky_csv_columns(spark, tricky_csv):
    source = TableSource(path=str(tricky_csv), format="csv", null_values=NULL_VALUES)
    local, rows = infer_local(source, set(), MAX_CATEGORIES)
    remote = infer(read_table(spark, source), set(), MAX_CATEGORIES)
    assert rows == ROWS
    assert _comparable(local) == _comparable(remote)
    by_column = {d.column: d for d in local}
    assert by_column["customer_id"].type is None and "identifier" in by_column["customer_id"].reason
    assert by_column["visits"].type == "numeric"
    assert by_column["charges"].type == by_column["padded"].type == "numeric"
    assert (by_column["senior"].type, by_column["senior"].positive) == ("binary", "Y")
    assert by_column["active"].type == by_column["flag"].type == "binary"
    assert by_column["signup"].type == "categorical"
    assert by_column["email"].type is None and by_column["city"].type is None
    assert by_column["constant"].type is None and by_column["empty"].type is None


def test_local_and_spark_inference_agree_on_typed_parquet_columns(spark, tmp_path):
    frame = tricky_frame().drop(columns=["empty"])
    frame["active"] = frame["active"] == "true"
    frame["signup"] = pd.to_datetime(frame["signup"]).dt.date
    frame["score"] = frame["score"].astype(float)
    frame["flag"] = frame["flag"].astype(np.int32)
    path = tmp_path / "tricky.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    source = TableSource(path=str(path), format="parquet")
    local, _ = infer_local(source, set(), MAX_CATEGORIES)
    remote = infer(read_table(spark, source), set(), MAX_CATEGORIES)
    assert _comparable(local) == _comparable(remote)
    by_column = {d.column: d for d in local}
    assert by_column["signup"].reason == "left out: unsupported column type date"
    assert (by_column["active"].type, by_column["flag"].type, by_column["score"].type) == ("binary",) * 2 + ("numeric",)


def test_number_pattern_reads_text_as_spark_try_cast_does(spark):
    texts = [" 12 ", "1e3", "-.5", "+5.", "1.5d", "2F", "0x1p3", "NaN", "nan", "-Infinity", "inf", "+INF"]
    texts += ["", " ", "1,5", "1_000", "12abc", "e5", ".", "--1", "0x", "١٢", "1.2.3", "NA", "infinite"]
    spark_says = {
        row["t"]: row["n"] is not None
        for row in spark.createDataFrame([(t,) for t in texts], "t string")
        .select("t", as_double(F.col("t")).alias("n"))
        .collect()
    }
    ours = {t: re.search(NUMBER_PATTERN, t) is not None for t in texts}
    assert ours == spark_says


def test_header_names_are_made_safe_as_spark_does(spark, tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("a,,A,b,a\n1,2,3,4,5\n", encoding="utf-8")
    source = TableSource(path=str(path), format="csv")
    assert read_sample(source).column_names == read_table(spark, source).columns


def test_init_config_on_a_local_file_imports_no_pyspark(tricky_csv, tmp_path):
    target = tmp_path / "starter.toml"
    script = (
        "import json, sys\nfrom training.__main__ import main\n"
        f"code = main(['init-config', {str(target)!r}, '--customers', {str(tricky_csv)!r}])\n"
        "print(json.dumps({'code': code, 'loaded': sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pyspark', 'py4j'))}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"code": 0, "loaded": []}, done.stderr
    data = tomllib.loads(target.read_text(encoding="utf-8"))
    assert (data["customers"]["label"], data["customers"]["positive"]) == ("churn", "Yes")
    assert data["features"]["columns"]["email"] == {"ignore": True}


def test_init_config_refuses_text_that_is_not_utf8_and_reads_it_when_told(tmp_path, capsys):
    path = tmp_path / "latin.csv"
    path.write_bytes("id,churn,city\n1,Yes,Zürich\n2,No,Genève\n".encode("latin-1"))
    target = tmp_path / "latin.toml"
    assert main(["init-config", str(target), "--customers", str(path)]) == 2
    err = capsys.readouterr().err
    assert "not utf-8 text" in err and "--encoding latin-1" in err and "Traceback" not in err
    assert not target.exists()
    assert main(["init-config", str(target), "--customers", str(path), "--encoding", "latin-1"]) == 0
    data = tomllib.loads(target.read_text(encoding="utf-8"))
    assert data["customers"]["csv"]["encoding"] == "iso-8859-1"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"id,churn\n1,Yes\n2,No,extra\n", "a row has 3 cells where the header has 2, e.g. '2,No,extra'"),
        (b"", "the file is empty"),
        (None, "no such file or folder"),
    ],
)
def test_init_config_says_what_is_wrong_with_a_bad_local_file(tmp_path, capsys, content, expected):
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_bytes(content)
    assert main(["init-config", str(tmp_path / "bad.toml"), "--customers", str(path)]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err and len(max(err.splitlines(), key=len)) <= 410

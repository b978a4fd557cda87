"""Item vectors end to end: the MovieLens bundle, parity with Spark's findSynonymsArray,
reading Spark-saved models without a JVM, neighbour quality, and the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bundle import layout
from bundle.checks import bundle_problems
from store import items as im

REPO = Path(__file__).resolve().parents[2]


def _same_ranking(ours: list[tuple[str, float]], spark: list[tuple[str, float]]) -> bool:
    """Equal order, except where two similarities tie within float32 rounding (1e-5)."""
    if [w for w, _ in ours] == [w for w, _ in spark]:
        return True
    theirs = dict(spark)
    return len(ours) == len(spark) and all(
        abs(s - theirs.get(w, -9)) < 1e-5 or abs(s - t) < 1e-5 for (w, s), (_, t) in zip(ours, spark)
    )


def test_movielens_bundle_holds_sound_item_tables(movielens_bundle):
    manifest = movielens_bundle.manifest
    assert manifest["dataset"]["name"] == "movielens"
    assert 0.5 < manifest["dataset"]["label_rate"] < 0.9  # both classes well represented
    assert bundle_problems(movielens_bundle) == []
    index = im.read_vectors(movielens_bundle.read_table(layout.ITEM_VECTORS))
    items = movielens_bundle.read_table(layout.ITEMS).to_pandas()
    assert len(index) == manifest["items"]["items"] > 1000
    assert items["users"].min() >= 1 and items["title"].str.len().min() > 0
    recent = movielens_bundle.read_table(layout.CUSTOMER_ITEMS).to_pandas()
    ranks = recent.groupby(layout.ID_COLUMN)["rank"]
    assert (ranks.min() == 0).all() and ranks.max().max() < manifest["items"]["params"]["history_items"]
    assert set(recent[layout.ID_COLUMN]) <= set(
        movielens_bundle.read_table(layout.CUSTOMERS).column(layout.ID_COLUMN).to_pylist()
    )


def test_numpy_neighbours_equal_spark_find_synonyms(spark, movielens_bundle):
    from pyspark.ml.feature import Word2VecModel

    model = Word2VecModel.load(str(movielens_bundle.path / layout.WORD2VEC_DIR))
    index = im.read_vectors(movielens_bundle.read_table(layout.ITEM_VECTORS))
    from_dir = im.read_word2vec_dir(movielens_bundle.path / layout.WORD2VEC_DIR)
    assert np.array_equal(from_dir.ids, index.ids) and np.allclose(from_dir.unit, index.unit, atol=1e-7)
    sample = np.random.default_rng(1).choice(index.ids, size=150, replace=False)
    exact = 0
    for item in sample:
        spark_found = [(r[0], float(r[1])) for r in model.findSynonymsArray(str(item), 10)]
        ours = im.neighbours(index, str(item), 10)
        assert _same_ranking(ours, spark_found), (item, ours, spark_found)
        assert [s for _, s in ours] == pytest.approx([s for _, s in spark_found], abs=1e-5)
        exact += [w for w, _ in ours] == [w for w, _ in spark_found]
    assert exact >= 140  # differences only at float32 ties


def test_reads_a_model_spark_saved_in_this_test(spark, tmp_path):
    from pyspark.ml.feature import Word2Vec

    rng = np.random.default_rng(3)
    groups = [[f"g{g}_{i}" for i in range(8)] for g in range(4)]
    sentences = [[str(w) for w in rng.choice(groups[rng.integers(4)], size=12)] for _ in range(300)]
    frame = spark.createDataFrame([(s,) for s in sentences], "items array<string>")
    model = Word2Vec(inputCol="items", vectorSize=16, minCount=1, maxIter=3, seed=7).fit(frame)
    saved = tmp_path / "my model"
    model.save(str(saved))
    index = im.read_word2vec_dir(saved)
    assert len(index) == 32 and index.dimensions == 16
    for word in index.ids:
        spark_found = [(r[0], float(r[1])) for r in model.findSynonymsArray(str(word), 5)]
        assert _same_ranking(im.neighbours(index, str(word), 5), spark_found)
    # The CLI lists the same neighbours without starting Spark or importing pyspark.
    script = (
        "import sys; from training.__main__ import main; rc = main(sys.argv[1:]); "
        "assert 'pyspark' not in sys.modules, 'pyspark imported'; sys.exit(rc)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, "word2vec-neighbours", str(saved), "g0_0", "-k", "5"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    listed = [line.split()[0] for line in out.stdout.splitlines()[1:]]
    assert listed == [r[0] for r in model.findSynonymsArray("g0_0", 5)] or _same_ranking(
        im.neighbours(index, "g0_0", 5), [(r[0], float(r[1])) for r in model.findSynonymsArray("g0_0", 5)]
    )
    bad = subprocess.run(
        [sys.executable, "-m", "training", "word2vec-neighbours", str(tmp_path), "g0_0"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "not a saved Spark Word2Vec model" in bad.stderr and "Traceback" not in bad.stderr


def test_neighbours_carry_genre_signal(movielens_bundle):
    index = im.read_vectors(movielens_bundle.read_table(layout.ITEM_VECTORS))
    items = movielens_bundle.read_table(layout.ITEMS)
    quality = im.genre_overlap(index, items.column("genres").to_pylist(), items.column("users").to_numpy(), seed=5)
    assert quality["items_measured"] > 500
    assert quality["ratio"] > 1.4, quality
    assert movielens_bundle.manifest["items"]["quality"]["ratio"] > 1.4


def _recent_file(spark, tmp_path, events, customers, k: int):
    """Recent items as training writes them: Spark's sorted part files streamed into the bundle file."""
    import pyarrow.parquet as pq

    from bundle.writer import StagedBundle
    from training import items as training_items
    from training.publish import write_recent_items, write_sorted

    files = write_sorted(training_items.recent_items(events, customers, k), tmp_path / "scratch" / "recent")
    customer_file = tmp_path / "customers"
    customers.write.parquet(customer_file.as_uri())
    id_field = pq.read_schema(next(customer_file.glob("part-*.parquet"))).field(layout.ID_COLUMN)
    staged = StagedBundle(root=tmp_path, name="t", run_id="r", path=tmp_path / "bundle")
    rows = write_recent_items(staged, files, id_field)
    return pq.read_table(staged.path / layout.CUSTOMER_ITEMS), rows, id_field


def test_recent_items_are_ranked_sorted_and_typed_like_the_customers(spark, tmp_path):
    from datetime import datetime

    events = spark.createDataFrame(
        [(5, "x", datetime(2026, 1, 1), 1.0), (2, "b", datetime(2026, 1, 2), None), (1, "a", datetime(2026, 1, 1), 3.0),
         (1, "c", datetime(2026, 1, 3), 4.0), (1, "b", datetime(2026, 1, 3), 5.0), (2, "a", datetime(2026, 1, 1), 2.0)],
        "user_id long, item_id string, ts timestamp, value double",
    )  # fmt: skip
    expected_ts = events.where("user_id = 1 and item_id = 'b'").toPandas()["ts"].iloc[0]  # what toPandas gave before
    # Text customer IDs, events keyed by numbers: the file takes the customers' type; 3 has no events, 5 is no customer.
    customers = spark.createDataFrame([("1",), ("2",), ("3",)], "customer_id string")
    table, rows, id_field = _recent_file(spark, tmp_path, events, customers, k=2)
    assert table.schema.field(layout.ID_COLUMN).type == id_field.type == "string" and rows == 4
    got = table.to_pandas()
    assert got[[layout.ID_COLUMN, "rank", layout.ITEM_ID_COLUMN]].values.tolist() == [
        ["1", 0, "b"],
        ["1", 1, "c"],
        ["2", 0, "b"],
        ["2", 1, "a"],  # latest first, ties by item; at most k
    ]
    assert got["ts"].iloc[0] == expected_ts and str(table.schema.field("ts").type) == "timestamp[ns]"
    assert got["value"].iloc[2] != got["value"].iloc[2]  # a missing value stays missing


def test_recent_items_of_customers_without_events_are_an_empty_table(spark, tmp_path):
    from datetime import datetime

    events = spark.createDataFrame(
        [(9, "a", datetime(2026, 1, 1), 1.0)], "user_id long, item_id string, ts timestamp, value double"
    )
    customers = spark.createDataFrame([(1,), (2,)], "customer_id long")
    table, rows, _ = _recent_file(spark, tmp_path, events, customers, k=5)
    assert rows == 0 and table.num_rows == 0
    assert table.schema.names == [layout.ID_COLUMN, "rank", layout.ITEM_ID_COLUMN, "ts", "value"]
    assert table.schema.field(layout.ID_COLUMN).type == "int64"

"""CUSTOMER_ITEMS (each customer's recent items): the streamed publish-time checks, each broken on
purpose, and the dashboard's one-customer reads by row-group range. No Spark: a tiny bundle."""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bundle import layout, streaming
from bundle.checks import bundle_problems
from bundle.item_checks import recent_items_problems
from bundle.reader import BundleError, open_bundle
from bundle.writer import stage_bundle
from store.recent_items import open_recent_items
from tests.bundle.corrupt import rewrite
from tests.bundle.tiny import write_tiny_bundle

RECENT = layout.CUSTOMER_ITEMS


def _recent(owners: list, ranks: list) -> pd.DataFrame:
    n = len(owners)
    return pd.DataFrame({
        layout.ID_COLUMN: np.array(owners, dtype=object if owners and isinstance(owners[0], str) else np.int64),
        "rank": np.array(ranks, dtype=np.int32),
        layout.ITEM_ID_COLUMN: [["a", "b", "c", "d"][i % 4] for i in range(n)],
        "ts": pd.to_datetime([datetime(2026, 1, 1 + i) for i in range(n)]),
        "value": np.arange(n, dtype=float),
    })  # fmt: skip


# Customer 3: three items, 7: none, 11: two.
SOUND = _recent([3, 3, 3, 11, 11], [0, 1, 2, 0, 1])


def _republish(source_dir, root, tables=None, change=None):
    scratch = root.parent / "scratch"
    shutil.copytree(source_dir, scratch)
    rewrite(scratch, tables, change)
    manifest = json.loads((scratch / layout.MANIFEST).read_text())
    with stage_bundle(root, "tiny", "faulty") as staged:
        for relpath in manifest["files"]:
            shutil.copyfile(scratch / relpath, staged.target(relpath))
        return staged.publish({k: v for k, v in manifest.items() if k != "files"})


def _swap(i, j):
    def change(frame):
        order = list(range(len(frame)))
        order[i], order[j] = order[j], order[i]
        return frame.iloc[order].reset_index(drop=True)

    return change


BROKEN = [
    ("rows out of customer order", _swap(2, 3), f"{RECENT} is not sorted by customer_id then rank"),
    ("ranks out of order within a customer", _swap(0, 1), "each customer's ranks must run 0, 1, 2"),
    (
        "an unknown customer",
        lambda f: f.assign(customer_id=[3, 3, 3, 12, 12]),
        f"{RECENT} names customers that are not in customers.parquet",
    ),
    (
        "an owner before every customer",
        lambda f: f.assign(customer_id=[1, 3, 3, 11, 11], rank=[0, 0, 1, 0, 1]),
        f"{RECENT} names customers that are not in customers.parquet",
    ),
    (
        "a gap in the ranks",
        lambda f: f.assign(customer_id=[3, 3, 11, 11, 11], rank=[0, 2, 0, 1, 2]),
        "each customer's ranks must run 0, 1, 2",
    ),
    (
        "a customer's ranks not from 0",
        lambda f: f.assign(rank=[0, 1, 2, 1, 2]),
        "each customer's ranks must run 0, 1, 2",
    ),
    ("a repeated rank", lambda f: f.assign(rank=[0, 1, 1, 0, 1]), "each customer's ranks must run 0, 1, 2"),
    ("a negative rank", lambda f: f.assign(rank=[-1, 0, 1, 0, 1]), f"{RECENT} has negative ranks"),
    (
        "more ranks than history_items",
        lambda f: f.assign(customer_id=[3, 3, 3, 3, 11], rank=[0, 1, 2, 3, 0]),
        f"{RECENT} has ranks of 3 or more",
    ),
    (
        "IDs typed unlike customers.parquet",
        lambda f: f.assign(customer_id=f["customer_id"].astype("int32")),
        f"{RECENT} stores customer_id as int32, customers.parquet as int64",
    ),
    ("no rank column", lambda f: f.drop(columns=["rank"]), f"{RECENT} lacks the column(s) rank"),
]


@pytest.mark.parametrize(("case", "change", "message"), BROKEN, ids=[c[0] for c in BROKEN])
def test_publish_refuses_broken_recent_items(tmp_path, case, change, message):
    root = tmp_path / "artifacts"
    good = write_tiny_bundle(root, run_id="good", recent_items=SOUND)
    assert bundle_problems(good) == []
    with pytest.raises(BundleError, match="^Refusing to publish bundle 'tiny': .*" + re.escape(message)):
        _republish(good.path, root, {RECENT: change})
    assert open_bundle(root / "tiny").run_id == "good"


def test_unreadable_recent_items_are_refused_at_publish(tmp_path):
    root = tmp_path / "artifacts"
    good = write_tiny_bundle(root, run_id="good", recent_items=SOUND)
    scratch = tmp_path / "scratch"
    shutil.copytree(good.path, scratch)
    rewrite(scratch, raw={RECENT: b"PAR1 not parquet PAR1"})
    manifest = json.loads((scratch / layout.MANIFEST).read_text())
    with pytest.raises(
        BundleError, match=f"^Bundle 'tiny' is unreadable: {re.escape(RECENT)} is not a valid Parquet table"
    ):
        with stage_bundle(root, "tiny", "faulty") as staged:
            for relpath in manifest["files"]:
                shutil.copyfile(scratch / relpath, staged.target(relpath))
            staged.publish({k: v for k, v in manifest.items() if k != "files"})


@pytest.mark.parametrize("batch_rows", [1, 2, 3, 64])
def test_the_merge_walk_holds_across_batch_boundaries(tmp_path, monkeypatch, batch_rows):
    """Owners and ranks carried from one batch to the next, and the customer IDs read in small
    batches too: the same verdicts whatever the batch size."""
    monkeypatch.setattr(streaming, "BATCH_ROWS", batch_rows)
    sound = _recent([3, 3, 7, 11, 11, 11], [0, 1, 0, 0, 1, 2])
    bundle = write_tiny_bundle(tmp_path / "a", recent_items=sound)
    assert recent_items_problems(bundle, 3) == []
    cases = {
        "unknown in the middle": (sound.assign(customer_id=[3, 3, 8, 11, 11, 11]), "names customers that are not in"),
        "unknown after the last": (sound.assign(customer_id=[3, 3, 7, 12, 12, 12]), "names customers that are not in"),
        "unsorted across rows": (sound.iloc[[0, 1, 3, 4, 5, 2]].reset_index(drop=True), "is not sorted"),
        "rank restarts": (sound.assign(rank=[0, 1, 0, 0, 1, 0]), "ranks must run 0, 1, 2"),
    }
    for case, (frame, message) in cases.items():
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, bundle.path / RECENT, row_group_size=2)
        problems = recent_items_problems(bundle, 3)
        assert len(problems) == 1 and message in problems[0], (case, problems)


def test_recent_items_without_any_row_are_sound(tmp_path):
    bundle = write_tiny_bundle(tmp_path, recent_items=SOUND.iloc[:0])
    assert bundle_problems(bundle) == []
    assert open_recent_items(bundle).rows(3).num_rows == 0


def _file_with_groups(tmp_path, frame: pd.DataFrame, rows_per_group: int, ids=None):
    bundle = write_tiny_bundle(tmp_path, ids=ids, recent_items=frame)
    pq.write_table(
        pa.Table.from_pandas(frame, preserve_index=False), bundle.path / RECENT, row_group_size=rows_per_group
    )
    return bundle


@pytest.mark.parametrize("rows_per_group", [1, 2, 4, 100])
def test_one_customers_rows_are_read_by_row_group_range(tmp_path, rows_per_group):
    bundle = _file_with_groups(tmp_path, SOUND, rows_per_group)
    recent = open_recent_items(bundle)
    for customer in (3, 7, 11):
        got = recent.rows(customer).to_pandas()
        expected = SOUND[SOUND[layout.ID_COLUMN] == customer].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert recent.row_groups == pq.ParquetFile(bundle.path / RECENT).num_row_groups
    for other in (2, 5, 12, 2**70, "3", True):
        assert recent.rows(other).num_rows == 0  # unknown, between customers, out of range, other type


def test_text_ids_are_read_by_row_group_range(tmp_path):
    frame = _recent(["A-1", "A-1", "b.2", "c/3", "c/3"], [0, 1, 0, 0, 1])
    bundle = _file_with_groups(tmp_path, frame, 2, ids=["A-1", "b.2", "c/3"])
    assert bundle_problems(bundle) == []
    recent = open_recent_items(bundle)
    assert (
        recent.rows("c/3").column(layout.ITEM_ID_COLUMN).to_pylist() == frame[layout.ITEM_ID_COLUMN].iloc[3:].tolist()
    )
    assert recent.rows("b.2").column("rank").to_pylist() == [0]
    assert recent.rows("B.2").num_rows == 0 and recent.rows(3).num_rows == 0


def test_a_damaged_file_raises_a_readable_bundle_error(tmp_path):
    bundle = write_tiny_bundle(tmp_path, recent_items=SOUND)
    (bundle.path / RECENT).write_bytes(b"PAR1 not parquet PAR1")
    with pytest.raises(
        BundleError, match=f"^Bundle 'tiny' is unreadable: {re.escape(RECENT)} is not a valid Parquet table.$"
    ) as caught:
        open_recent_items(bundle).rows(3)
    assert str(tmp_path) not in str(caught.value)

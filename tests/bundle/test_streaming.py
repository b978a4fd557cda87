"""Streamed writing and reading: fixed row groups whatever the batches, lockstep reads, picks by position."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bundle import streaming
from bundle.writer import write_rebatched


def _batches(sizes: list[int]):
    start = 0
    for n in sizes:
        yield pa.record_batch({"customer_id": pa.array(np.arange(start, start + n, dtype=np.int64))})
        start += n


def test_rebatched_writer_makes_equal_row_groups_from_uneven_batches(tmp_path):
    schema = pa.schema([("customer_id", pa.int64())])
    rows = write_rebatched(tmp_path / "t.parquet", schema, _batches([7, 1, 30, 0, 5, 12]), rows_per_group=10)
    meta = pq.ParquetFile(tmp_path / "t.parquet").metadata
    assert rows == 55
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [10, 10, 10, 10, 10, 5]
    assert pq.read_table(tmp_path / "t.parquet").column(0).to_pylist() == list(range(55))


def test_rebatched_writer_writes_an_empty_table_with_its_schema(tmp_path):
    schema = pa.schema([("customer_id", pa.int64())])
    assert write_rebatched(tmp_path / "e.parquet", schema, iter([]), rows_per_group=10) == 0
    assert pq.read_table(tmp_path / "e.parquet").schema == schema


def test_lockstep_aligns_streams_with_different_batch_sizes():
    a = (pa.Table.from_batches([b]) for b in _batches([3, 4, 5]))
    b = (pa.Table.from_batches([b]) for b in _batches([5, 7]))
    chunks = list(streaming.lockstep(a, b))
    assert all(x.num_rows == y.num_rows for x, y in chunks)
    assert all(x.equals(y) for x, y in chunks)
    assert sum(x.num_rows for x, _ in chunks) == 12


def test_lockstep_notices_a_stream_that_ends_early():
    a = (pa.Table.from_batches([b]) for b in _batches([3, 4]))
    b = (pa.Table.from_batches([b]) for b in _batches([3, 3]))
    with pytest.raises(streaming.LengthMismatch):
        list(streaming.lockstep(a, b))


def test_take_positions_returns_rows_in_the_order_asked():
    source = (pa.Table.from_batches([b]) for b in _batches([4, 4, 4]))
    picked = streaming.take_positions(source, np.array([9, 0, 5, 11]))
    assert picked is not None
    assert picked.column(0).to_pylist() == [9, 0, 5, 11]

"""Read bundle tables batch by batch, so checks of a million-customer bundle hold one
batch per table at a time, never a whole table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bundle.files import unreadable

BATCH_ROWS = 65_536


class LengthMismatch(Exception):
    """Tables read in lockstep ran out at different rows."""


def batches(bundle_dir: Path, relpath: str, label: str, columns: list[str] | None = None) -> Iterator[pa.Table]:
    """`relpath`'s `columns`, in row order, as tables of at most `BATCH_ROWS` rows; a file that
    can't be read raises the readable `BundleError`."""
    try:
        reader = pq.ParquetFile(bundle_dir / relpath)
        for batch in reader.iter_batches(batch_size=BATCH_ROWS, columns=columns):
            yield pa.Table.from_batches([batch])
    except (OSError, pa.ArrowException, ValueError) as exc:
        raise unreadable(label, bundle_dir, relpath, exc) from exc


def lockstep(*sources: Iterator[pa.Table]) -> Iterator[list[pa.Table]]:
    """Chunks of equal row counts from several row-aligned streams, whatever their batch sizes.
    Raises `LengthMismatch` if one stream ends before the others."""
    iterators = [iter(s) for s in sources]
    pending: list[pa.Table | None] = [None] * len(iterators)
    while True:
        for i, it in enumerate(iterators):
            current = pending[i]
            while current is None or current.num_rows == 0:
                current = next(it, None)
                if current is None:
                    break
            pending[i] = current
        ready = [p for p in pending if p is not None]
        if not ready:
            return
        if len(ready) < len(pending):
            raise LengthMismatch
        n = min(p.num_rows for p in ready)
        yield [p.slice(0, n) for p in ready]
        pending = [p.slice(n) for p in ready]


def column(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy(zero_copy_only=False)


def take_positions(source: Iterator[pa.Table], positions: np.ndarray) -> pa.Table | None:
    """The rows at `positions` (any order, in bounds) of a stream, in the order given."""
    order = np.argsort(positions, kind="stable")
    wanted = positions[order]
    picked, start = [], 0
    for table in source:
        end = start + table.num_rows
        lo, hi = np.searchsorted(wanted, [start, end])
        if hi > lo:
            picked.append(table.take(pa.array(wanted[lo:hi] - start)))
        start = end
    if not picked:
        return None
    rows = pa.concat_tables(picked)
    return rows.take(pa.array(np.argsort(order, kind="stable")))

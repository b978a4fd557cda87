"""Reading per-customer Parquet tables by row position, and the sorted customer IDs.

Every per-customer table holds one row per customer in `customer_id` order (bundle/layout.py),
so a row position found once in the IDs addresses the same customer in every table; a table's
row groups (≤ 64k rows) are the unit read from disk.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bundle.reader import Bundle, BundleError

log = logging.getLogger("bundle")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class SortedIds:
    """The sorted customer IDs: an int64 array, or an Arrow string array searched by bisection."""

    def __init__(self, column: pa.ChunkedArray) -> None:
        combined = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        self._strings = pa.types.is_string(combined.type) or pa.types.is_large_string(combined.type)
        self._values = combined if self._strings else combined.to_numpy(zero_copy_only=False).astype(np.int64)
        self.nbytes = combined.nbytes if self._strings else self._values.nbytes
        self.dtype = f"arrow:{combined.type}" if self._strings else self._values.dtype

    def __len__(self) -> int:
        return len(self._values)

    def at(self, pos: int) -> int | str:
        return self._values[pos].as_py() if self._strings else int(self._values[pos])

    def find(self, customer_id: int | str) -> int:
        """Row position of `customer_id`, or -1."""
        if self._strings:
            if not isinstance(customer_id, str):
                return -1
            pos = bisect.bisect_left(_ArrowView(self._values), customer_id)
        else:
            if not isinstance(customer_id, int) or not _INT64_MIN <= customer_id <= _INT64_MAX:
                return -1
            pos = int(np.searchsorted(self._values, customer_id))
        return pos if pos < len(self) and self.at(pos) == customer_id else -1


class _ArrowView:
    """A sequence view of an Arrow string array, for `bisect` (one Python str per probe only)."""

    def __init__(self, values: pa.Array) -> None:
        self._values = values

    def __len__(self) -> int:
        return len(self._values)

    def __getitem__(self, i: int) -> str:
        return self._values[i].as_py()


class RowFile:
    """An open per-customer Parquet file read by row position: only the row group holding it.

    The handle is opened once and shared; reads of one file are serialised (pyarrow's
    reader is not documented as thread-safe), which costs little as each read is short."""

    def __init__(self, bundle: Bundle, relpath: str, dictionary: bool = False) -> None:
        # dictionary: text columns stay dictionary-encoded (codes + a few values), ~3x faster to
        # decode than one string per row.
        self._dictionary = dictionary
        self._label = bundle.name
        self._relpath = relpath
        self._path = bundle.file(relpath)
        self._lock = threading.Lock()
        self._handle: pq.ParquetFile | None = None
        self._starts: np.ndarray | None = None
        self._last: tuple[tuple, pa.Table] | None = None  # the last decoded row group (sequential reads)

    def _open(self) -> pq.ParquetFile:
        if self._handle is None:
            try:
                handle = pq.ParquetFile(self._path)
                if self._dictionary:
                    text = [
                        f.name
                        for f in handle.schema_arrow
                        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
                    ]
                    handle = pq.ParquetFile(self._path, read_dictionary=text) if text else handle
                self._handle = handle
            except (OSError, pa.ArrowException, ValueError) as exc:
                raise self._error(exc) from exc
            sizes = [self._handle.metadata.row_group(i).num_rows for i in range(self._handle.num_row_groups)]
            self._starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        return self._handle

    def _group_starts(self) -> np.ndarray:
        """First row position of each row group (call with the lock held, after `_open`)."""
        if self._starts is None:
            raise RuntimeError("row groups are known only once the file is open")
        return self._starts

    def _error(self, exc: Exception) -> BundleError:
        log.warning("bundle %s: cannot read %s: %s", self._label, self._path, exc)
        return BundleError(f"Bundle '{self._label}' is unreadable: {self._relpath} is not a valid Parquet table.")

    @property
    def schema(self) -> pa.Schema:
        with self._lock:
            return self._open().schema_arrow

    def row(self, pos: int, columns: list[str] | None = None) -> dict[str, Any]:
        """Column -> value of row `pos` (NumPy scalars, as a full-column `to_numpy` would give;
        text as str or None)."""
        with self._lock:
            handle = self._open()
            starts = self._group_starts()
            group = int(np.searchsorted(starts, pos, side="right")) - 1
            key = (group, tuple(columns) if columns is not None else None)
            if self._last is not None and self._last[0] == key:
                table = self._last[1]
            else:
                try:
                    # One thread: a single row group decodes as fast without the pool's hand-offs.
                    table = handle.read_row_group(group, columns=columns, use_threads=False)
                except (OSError, pa.ArrowException, ValueError) as exc:
                    raise self._error(exc) from exc
                self._last = (key, table)
            one = table.slice(pos - int(starts[group]), 1)
        out: dict[str, Any] = {}
        for name in one.column_names:
            column = one.column(name)
            out[name] = (
                column[0].as_py() if pa.types.is_dictionary(column.type) else column.to_numpy(zero_copy_only=False)[0]
            )
        return out

    def read_column(self, name: str) -> pa.ChunkedArray:
        with self._lock:
            handle = self._open()
            try:
                table = handle.read(columns=[name])
            except (OSError, pa.ArrowException, ValueError) as exc:
                raise self._error(exc) from exc
        return table.column(0)

    def empty(self, columns: list[str] | None) -> pa.Table:
        schema = self.schema
        return schema.empty_table() if columns is None else pa.schema([schema.field(c) for c in columns]).empty_table()

    def blocks(self, columns: list[str] | None) -> Iterator[tuple[int, pa.Table]]:
        """(first row position, table) per row group, in order."""
        with self._lock:
            handle = self._open()
            count = handle.num_row_groups
        for group in range(count):
            with self._lock:
                try:
                    table = handle.read_row_group(group, columns=columns)
                except (OSError, pa.ArrowException, ValueError) as exc:
                    raise self._error(exc) from exc
                start = int(self._group_starts()[group])
            yield start, table


def table_rows(bundle: Bundle, relpath: str) -> int:
    """Rows of a bundle table, from its Parquet footer."""
    try:
        return pq.ParquetFile(bundle.file(relpath)).metadata.num_rows
    except (OSError, pa.ArrowException, ValueError) as exc:
        raise RowFile(bundle, relpath)._error(exc) from exc


def read_rows(bundle: Bundle, relpath: str, positions: np.ndarray | None, columns: list[str] | None = None) -> pa.Table:
    """The rows at sorted `positions` of a per-customer table (None: every row), reading one
    row group at a time, so memory holds the picked rows plus one row group."""
    if positions is None:
        return bundle.read_table(relpath, columns=columns)
    file = RowFile(bundle, relpath)
    positions = np.asarray(positions, dtype=np.int64)
    parts = []
    for start, block in file.blocks(columns):
        lo, hi = np.searchsorted(positions, [start, start + block.num_rows])
        if hi > lo:
            parts.append(block.take(pa.array(positions[lo:hi] - start)))
    if not parts:
        return file.empty(columns)
    return pa.concat_tables(parts)

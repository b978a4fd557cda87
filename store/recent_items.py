"""One customer's recent items (CUSTOMER_ITEMS) read on demand, never the whole table.

The table is sorted by (customer_id, rank) (checked at publish), so each row group covers
one range of IDs. The file's footer gives every row group's smallest and largest ID (the
writer's column statistics): the index held is two IDs per row group (313 groups for 20M
rows), and a lookup reads only the one or two row groups whose range holds the customer.
"""

from __future__ import annotations

import bisect
import logging
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bundle import layout
from bundle.reader import Bundle, BundleError

log = logging.getLogger("bundle")

# Row groups of CUSTOMER_ITEMS as training writes them. A lookup decodes the whole group(s) holding the
# customer: 64k-row groups cost ~5.6 ms of CPU per lookup, 16k ~1.8 ms, 8k ~1.2 ms (2M rows, this
# machine; bench/customer_items.py), while the footer (held open) grows with the group count.
ROW_GROUP_ROWS = 16_384


def open_recent_items(bundle: Bundle) -> RecentItemsFile:
    """The bundle's CUSTOMER_ITEMS, opened (footer read) on its first lookup."""
    return RecentItemsFile(bundle.file(layout.CUSTOMER_ITEMS), bundle.name)


class RecentItemsFile:
    """CUSTOMER_ITEMS of one bundle run, opened on first use and shared read-only by every session.
    Reads of the file are serialised (pyarrow's reader is not documented as thread-safe)."""

    def __init__(self, path: Path, label: str) -> None:
        """`path`: a CUSTOMER_ITEMS file; `label`: the bundle name its errors give."""
        self._label = label
        self._path = path
        self._lock = threading.Lock()
        self._handle: pq.ParquetFile | None = None
        self._groups: list[int] = []  # non-empty row groups, in file order
        self._lows: list = []
        self._highs: list = []
        self._text = False
        self._last: tuple[int, pa.Table] | None = None  # the last decoded row group (pages rerun often)

    def rows(self, customer_id: int | str) -> pa.Table:
        """This customer's rows, in rank order (latest first); none for a customer without events
        or an ID of the other type."""
        with self._lock:
            handle = self._open()
            if isinstance(customer_id, bool) or isinstance(customer_id, str) != self._text:
                return handle.schema_arrow.empty_table()
            first = bisect.bisect_left(self._highs, customer_id)
            stop = bisect.bisect_right(self._lows, customer_id)
            parts = [self._group(handle, group) for group in range(first, stop)]
        if not parts:
            return handle.schema_arrow.empty_table()
        table = pa.concat_tables(parts)
        column = table.column(layout.ID_COLUMN)
        return table.filter(pc.equal(column, pa.scalar(customer_id, column.type)))

    @property
    def row_groups(self) -> int:
        with self._lock:
            return self._open().num_row_groups

    def _open(self) -> pq.ParquetFile:
        if self._handle is None:
            try:
                handle = pq.ParquetFile(self._path)
                kind = handle.schema_arrow.field(layout.ID_COLUMN).type
                self._text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
                self._groups, self._lows, self._highs = _ranges(handle)
            except (OSError, pa.ArrowException, ValueError, KeyError) as exc:
                raise self._error(exc) from exc
            self._handle = handle
        return self._handle

    def _group(self, handle: pq.ParquetFile, position: int) -> pa.Table:
        group = self._groups[position]
        if self._last is not None and self._last[0] == group:
            return self._last[1]
        try:
            # One thread: a single row group decodes as fast without the pool's hand-offs.
            table = handle.read_row_group(group, use_threads=False)
        except (OSError, pa.ArrowException, ValueError) as exc:
            raise self._error(exc) from exc
        self._last = (group, table)
        return table

    def _error(self, exc: Exception) -> BundleError:
        log.warning("bundle %s: cannot read %s: %s", self._label, self._path, exc)
        return BundleError(
            f"Bundle '{self._label}' is unreadable: {layout.CUSTOMER_ITEMS} is not a valid Parquet table."
        )


def _ranges(handle: pq.ParquetFile) -> tuple[list[int], list, list]:
    """Non-empty row groups with their smallest and largest ID, from the footer's statistics (a
    file written without them: from each row group's ID column, read once)."""
    index = handle.schema_arrow.get_field_index(layout.ID_COLUMN)
    if index < 0:
        raise ValueError(f"no {layout.ID_COLUMN} column")
    groups, lows, highs = [], [], []
    for group in range(handle.num_row_groups):
        meta = handle.metadata.row_group(group)
        if meta.num_rows == 0:
            continue
        stats = meta.column(index).statistics
        if stats is not None and stats.has_min_max:
            low, high = stats.min, stats.max
        else:
            bounds = pc.min_max(handle.read_row_group(group, columns=[layout.ID_COLUMN]).column(0))
            low, high = bounds["min"].as_py(), bounds["max"].as_py()
        groups.append(group)
        lows.append(low)
        highs.append(high)
    if any(low < high for high, low in zip(highs, lows[1:])):
        raise ValueError("row groups are not in customer_id order")
    return groups, lows, highs

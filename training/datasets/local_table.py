"""A local table's first rows read with pyarrow, as Spark would read them, and their column statistics.

`init-config` on a local file uses this instead of Spark: no JVM starts and no
pyspark is imported, so a 10,000-row CSV answers in well under a second. A
cluster URI (hdfs://, s3a://, …) still goes through Spark (`infer.py`). Both
hand `ColumnStats` to `decide.decide`, so the rules are one definition.

CSV follows `tables.read_table`'s rules: every column is text, RFC 4180 quoting
(a quote inside a quoted field is doubled), the declared encoding, empty cells and
the configured null markers are empty values, a row with the wrong number of
cells is an error (Spark's FAILFAST), and header names are made safe the way
Spark's CSV reader does (an empty name → `_c<i>`, a repeated one → `<name><i>`).
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pacsv

from training.datasets.config_sections import TableSource
from training.datasets.decide import (
    BOOLEAN,
    FRACTIONAL,
    INTEGRAL,
    NUMBER_PATTERN,
    STRING,
    ColumnStats,
    Decision,
    decide,
)
from training.text import one_line, shown

# Decisions come from at most this many rows (the whole file below it): enough for every rule
# (constant, 0/1, yes/no, ID-like, category counts up to any sensible cap) at any file size.
SAMPLE_ROWS = 200_000
_BLOCK_BYTES = 1 << 20  # a row longer than this is not a customer (pyarrow then refuses it)


class TableError(Exception):
    """A table that cannot be read; the message is meant for the user."""


def is_local(path: str) -> bool:
    """A path on this machine (or a file:// URI), as opposed to a cluster URI Spark reads."""
    return not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", path) or path.lower().startswith("file://")


def _local_path(path: str) -> Path:
    return Path(path[len("file://") :] if path.lower().startswith("file://") else path)


def _files(path: Path) -> list[Path]:
    """The data files of a path: itself, or a folder's files in name order (Spark's _SUCCESS, .crc skipped)."""
    if not path.exists():
        raise TableError(f"cannot read table {path}: no such file or folder")
    if path.is_file():
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(("_", ".")))
    if not files:
        raise TableError(f"cannot read table {path}: the folder holds no data files")
    return files


def safe_header(names: list[str]) -> list[str]:
    """Spark's CSV header rule (CSVUtils.makeSafeHeader, case-insensitive): empty → `_c<i>`,
    a name used twice → `<name><i>` for each use."""
    lowered = [n.lower() for n in names if n]
    repeated = {n for n in lowered if lowered.count(n) > 1}
    return [
        f"_c{i}" if not name else f"{name}{i}" if name.lower() in repeated else name for i, name in enumerate(names)
    ]


def _header(path: Path, source: TableSource) -> list[str]:
    try:
        with path.open(encoding=source.encoding, newline="") as handle:
            first = next(csv.reader(handle, delimiter=source.delimiter, quotechar='"', doublequote=True), [])
    except UnicodeDecodeError:
        raise TableError(_not_text(path, source, "its first line")) from None
    except csv.Error as exc:
        raise TableError(f"cannot read csv table {path}: {one_line(str(exc))}") from None
    if not first:
        raise TableError(f"cannot read csv table {path}: the file is empty")
    return safe_header(first) if source.header else [f"_c{i}" for i in range(len(first))]


def _not_text(path: Path, source: TableSource, where: str) -> str:
    return (
        f"{path}: {where} is not {source.encoding} text; save the file as UTF-8 (in a spreadsheet: 'CSV UTF-8') "
        "or name its encoding (init-config --encoding latin-1; in the config: [customers.csv] encoding)"
    )


def _batches(files: list[Path], source: TableSource) -> tuple[Iterator[pa.RecordBatch], list[str] | None]:
    """Record batches of every file in turn (read lazily), and the CSV column names."""
    if source.format == "parquet":
        import pyarrow.parquet as pq

        return (batch for f in files for batch in pq.ParquetFile(f).iter_batches(batch_size=65_536)), None
    names = _header(files[0], source)
    read_options = pacsv.ReadOptions(
        column_names=names,
        skip_rows=1 if source.header else 0,
        encoding=codecs.lookup(source.encoding).name,
        block_size=_BLOCK_BYTES,
    )
    parse_options = pacsv.ParseOptions(delimiter=source.delimiter, quote_char='"', double_quote=True)
    convert_options = pacsv.ConvertOptions(
        # As tables.read_table: empty cells and the markers ("NA") are empty values, quoted or not.
        column_types={n: pa.string() for n in names},
        null_values=list(dict.fromkeys(("", *source.null_values))),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    batches = (batch for f in files for batch in pacsv.open_csv(f, read_options, parse_options, convert_options))
    return batches, names


def read_sample(source: TableSource, rows: int = SAMPLE_ROWS) -> pa.Table:
    """At most `rows` rows of a local CSV or Parquet table (file or folder), in file order.
    (pyarrow.dataset would do this too, but importing it imports pandas: a second of start-up.)"""
    files = _files(_local_path(source.path))
    kept: list[pa.RecordBatch] = []
    read = 0
    try:
        batches, names = _batches(files, source)
        for batch in batches:
            kept.append(batch.slice(0, rows - read))
            read += kept[-1].num_rows
            if read >= rows:
                break
        table = pa.Table.from_batches(kept) if kept else None
    except (pa.ArrowInvalid, OSError, UnicodeError) as exc:
        message = str(exc)
        if "UTF8" in message or isinstance(exc, UnicodeError):
            raise TableError(_not_text(files[0], source, "a cell")) from None
        raise TableError(f"cannot read {source.format} table {source.path}: {_why(message, source)}") from None
    if table is None:
        if names is None:
            raise TableError(f"cannot read parquet table {source.path}: it has no rows")
        table = pa.Table.from_arrays([pa.chunked_array([], pa.string()) for _ in names], names=names)
    return table


def _why(message: str, source: TableSource) -> str:
    """pyarrow's reason, short: it names the file again and quotes the whole row."""
    count = re.search(r"Expected (\d+) columns, got (\d+): (.*)", message, re.DOTALL)
    if count:
        expected, got, row = count.groups()
        return (
            f"a row has {got} cells where the header has {expected}, e.g. {shown(row.strip())} "
            f"(is the delimiter {source.delimiter!r}? is a value with a delimiter in it unquoted?)"
        )
    return one_line(message.split(": ", 1)[-1] if "CSV parse error" in message else message, 200)


def kind(data_type: pa.DataType) -> str:
    """The column kind `decide` takes, named as Spark names the type it reads the column as."""
    if pa.types.is_boolean(data_type):
        return BOOLEAN
    if pa.types.is_integer(data_type):
        return INTEGRAL
    if pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        return FRACTIONAL
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        return STRING
    if pa.types.is_date(data_type):
        return "date"
    if pa.types.is_timestamp(data_type):
        return "timestamp" if data_type.tz else "timestamp_ntz"
    if pa.types.is_binary(data_type) or pa.types.is_large_binary(data_type):
        return "binary"
    return str(data_type)


def column_stats(column: pa.ChunkedArray) -> ColumnStats:
    """The statistics `decide` needs (exact here; Spark's distinct count is an estimate)."""
    column_kind = kind(column.type)
    present = len(column) - column.null_count
    try:
        bounds = pc.min_max(column)
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        distinct = int(pc.count_distinct(column, mode="only_valid").as_py())
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError):  # lists, maps, structs: no order
        low, high, distinct = None, column_kind, present  # not constant; `decide` leaves the type out
    if column_kind not in (INTEGRAL, FRACTIONAL, STRING) and present:
        # As Spark's min/max cast to text: booleans read true/false, dates 2024-01-31.
        low, high = (str(v).lower() if column_kind == BOOLEAN else str(v) for v in (low, high))
    numbers = None
    if column_kind == STRING:
        numbers = int(pc.sum(pc.match_substring_regex(column, NUMBER_PATTERN)).as_py() or 0)
    return ColumnStats(column_kind, present, distinct, low, high, numbers)


def infer_local(source: TableSource, exclude: set[str], max_categories: int) -> tuple[list[Decision], int]:
    """One decision per column of the table's sample not in `exclude`, in table order, and the rows read."""
    table = read_sample(source)
    decisions = [
        decide(name, column_stats(table.column(i)), max_categories)
        for i, name in enumerate(table.column_names)
        if name not in exclude
    ]
    return decisions, table.num_rows

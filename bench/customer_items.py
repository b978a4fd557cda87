"""One customer's recent items (CUSTOMER_ITEMS) as the Customer page reads them: by row-group
range from the footer's statistics (`store.recent_items`), against pyarrow's own statistics
pruning (`pq.read_table(filters=[(customer_id, '=', x)])`), at an items bundle's size and on a
generated sorted file of 1M customers × 20 items (20M rows in the bundle's 16k-row groups,
written by the bundle writer's `write_rebatched`).

    python -m bench.customer_items [--bundle artifacts/movielens] [--customers 1000000] [--whole]

`--whole` also measures, in a child process, what the dashboard did before: the whole table
read into pandas (peak RSS added and seconds), for comparison.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bundle import layout
from bundle.reader import Bundle
from bundle.writer import write_rebatched
from store.recent_items import ROW_GROUP_ROWS, RecentItemsFile

PER_CUSTOMER = 20
ITEMS = 3_500


def generate(path: Path, customers: int, per_customer: int = PER_CUSTOMER, seed: int = 0) -> int:
    """A sorted CUSTOMER_ITEMS file: `customers` × `per_customer` rows, random items, ts and ratings."""
    rng = np.random.default_rng(seed)
    vocabulary = pa.array([str(i) for i in range(1, ITEMS + 1)])
    schema = pa.schema([(layout.ID_COLUMN, pa.int64()), ("rank", pa.int32()), (layout.ITEM_ID_COLUMN, pa.string()),
                        ("ts", pa.timestamp("ns")), ("value", pa.float64())])  # fmt: skip
    step = 3_200  # customers per batch (64,000 rows)

    def batches():
        for start in range(0, customers, step):
            ids = np.arange(start, min(customers, start + step), dtype=np.int64)
            n = len(ids) * per_customer
            ts = np.int64(1_600_000_000) * 10**9 - rng.integers(0, 10**8, n).astype(np.int64) * 10**9
            yield pa.record_batch([
                pa.array(np.repeat(ids, per_customer)),
                pa.array(np.tile(np.arange(per_customer, dtype=np.int32), len(ids))),
                vocabulary.take(pa.array(rng.integers(0, ITEMS, n))), pa.array(np.sort(ts)[::-1], pa.timestamp("ns")),
                pa.array(rng.integers(1, 11, n) / 2.0),
            ], schema=schema)  # fmt: skip

    return write_rebatched(path, schema, batches(), rows_per_group=ROW_GROUP_ROWS)


def _lookups(read, ids: np.ndarray) -> np.ndarray:
    times = []
    for customer in ids:
        started = time.perf_counter()
        read(customer)
        times.append(time.perf_counter() - started)
    return np.array(times) * 1000


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure_file(path: Path, ids: np.ndarray) -> dict:
    """Lookup times (ms) of the row-group index and of pyarrow's filters for `ids`, plus the RSS the
    index's open file adds."""
    before = _rss_mb()
    started = time.perf_counter()
    recent = RecentItemsFile(path, "bench")
    first = recent.rows(int(ids[0]))
    open_ms = (time.perf_counter() - started) * 1000
    index = _lookups(lambda c: recent.rows(int(c)), ids)
    held = _rss_mb() - before
    filters = _lookups(
        lambda c: pq.read_table(path, filters=[(layout.ID_COLUMN, "=", int(c))]), ids[: max(20, len(ids) // 4)]
    )
    same = pq.read_table(path, filters=[(layout.ID_COLUMN, "=", int(ids[0]))])
    assert first.equals(same.select(first.column_names).cast(first.schema)), "index and filters disagree"
    return {
        "rows": pq.ParquetFile(path).metadata.num_rows,
        "row_groups": recent.row_groups,
        "open_ms": open_ms,
        "index_p50_ms": float(np.median(index)), "index_p95_ms": float(np.percentile(index, 95)),
        "filters_p50_ms": float(np.median(filters)), "filters_p95_ms": float(np.percentile(filters, 95)),
        "rss_added_mb": held,
        "footer_kb": pq.ParquetFile(path).metadata.serialized_size / 1024,
    }  # fmt: skip


def _customers_with_items(path: Path, lookups: int, seed: int) -> np.ndarray:
    owners = np.unique(pq.read_table(path, columns=[layout.ID_COLUMN]).column(0).to_numpy())
    return np.random.default_rng(seed).choice(owners, size=lookups)


def whole_table(path: Path) -> dict:
    """The old way, in a child process: the whole table into pandas (RSS added, seconds)."""
    script = (
        "import json,time,sys; from pathlib import Path; import pyarrow.parquet as pq\n"
        "def rss():\n"
        " status = Path('/proc/self/status').read_text().splitlines()\n"
        " return [int(l.split()[1])/1024 for l in status if l.startswith('VmHWM:')][0]\n"
        "b=rss(); t=time.perf_counter(); f=pq.read_table(sys.argv[1]).to_pandas()\n"
        "print(json.dumps({'whole_s': time.perf_counter()-t, 'whole_rss_added_mb': rss()-b}))"
    )
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def measure(
    bundle: Bundle | None, customers: int = 1_000_000, lookups: int = 200, seed: int = 0, whole: bool = False
) -> dict:
    """Flat bench keys: `customer_items_lookup_*` at the bundle's size (if it has recent items) and
    `*_20m` on the generated 1M × 20 file."""
    figures: dict[str, float | int] = {}
    if bundle is not None and layout.CUSTOMER_ITEMS in bundle.manifest.get("files", {}):
        path = bundle.file(layout.CUSTOMER_ITEMS)
        small = measure_file(path, _customers_with_items(path, lookups, seed))
        figures |= {
            "customer_items_rows": small["rows"],
            "customer_items_lookup_ms": round(small["index_p50_ms"], 3),
            "customer_items_lookup_p95_ms": round(small["index_p95_ms"], 3),
            "customer_items_filters_ms": round(small["filters_p50_ms"], 3),
        }
        if whole:
            figures |= {f"customer_items_{k}": round(v, 3) for k, v in whole_table(path).items()}
    with tempfile.TemporaryDirectory(prefix="churnlens-recent-") as folder:
        path = Path(folder) / "customer_recent.parquet"
        started = time.perf_counter()
        generate(path, customers)
        write_s = time.perf_counter() - started
        ids = np.random.default_rng(seed).integers(0, customers, size=lookups)
        large = measure_file(path, ids)
        size = "20m" if customers * PER_CUSTOMER == 20_000_000 else f"{customers * PER_CUSTOMER // 1000}k"
        figures |= {
            f"customer_items_generate_s_{size}": round(write_s, 1),
            f"customer_items_open_ms_{size}": round(large["open_ms"], 2),
            f"customer_items_lookup_ms_{size}": round(large["index_p50_ms"], 3),
            f"customer_items_lookup_p95_ms_{size}": round(large["index_p95_ms"], 3),
            f"customer_items_filters_ms_{size}": round(large["filters_p50_ms"], 3),
            f"customer_items_filters_p95_ms_{size}": round(large["filters_p95_ms"], 3),
            f"customer_items_rss_added_mb_{size}": round(large["rss_added_mb"], 1),
            f"customer_items_footer_kb_{size}": round(large["footer_kb"], 1),
            f"customer_items_row_groups_{size}": large["row_groups"],
        }
        if whole:
            figures |= {f"customer_items_{k}_{size}": round(v, 3) for k, v in whole_table(path).items()}
    return figures


def main(argv: list[str] | None = None) -> int:
    from bench.report import record_and_print
    from bundle.reader import BundleError, open_bundle

    parser = argparse.ArgumentParser(prog="python -m bench.customer_items", description=__doc__)
    parser.add_argument("--bundle", type=Path, default=Path("artifacts/movielens"))
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument("--whole", action="store_true", help="also time loading the whole table (the old way)")
    args = parser.parse_args(argv)
    try:
        bundle = open_bundle(args.bundle)
    except BundleError as exc:
        print(f"{exc} (measuring the generated file only)")
        bundle = None
    record_and_print(measure(bundle, args.customers, args.lookups, whole=args.whole))
    return 0


if __name__ == "__main__":
    sys.exit(main())

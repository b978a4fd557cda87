"""Bench fixture, not a product feature: a large bundle made of copies of a trained one.

    python -m bench.tile_bundle --from artifacts/telco --to artifacts/telco1m --customers 1000000

The per-customer tables (customers, predictions, SHAP) get the source rows repeated
until there are `--customers` rows, each copy with new unique IDs, sorted; every other
file is copied as it is. Copy 0 keeps the original IDs, so tables that name customers
(ICE lines, background, recent items) stay valid. The bundle is published through
`bundle.writer` (so every invariant, runtime parity included, is checked: rows are
copies, so the models reproduce them). Integer IDs of copy c are `id + c * span`;
string IDs are `id.c` (then re-sorted). Bundles with hashed IDs are refused.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bundle import ids as id_hashing
from bundle import layout
from bundle.reader import Bundle, BundleError, open_bundle
from bundle.writer import stage_bundle


def per_customer_tables(manifest: dict) -> list[str]:
    return [
        layout.CUSTOMERS,
        *(p for m in manifest["models"] for p in (layout.predictions_path(m), layout.shap_path(m))),
    ]


def tiled_rows(source_ids: pa.Array, customers: int) -> tuple[np.ndarray, pa.Array]:
    """(source row of every new row, new IDs), both in the new (sorted) order."""
    n = len(source_ids)
    copies = -(-customers // n)
    rows = np.tile(np.arange(n), copies)[:customers]
    copy = np.repeat(np.arange(copies), n)[:customers]
    if pa.types.is_integer(source_ids.type):
        values = source_ids.to_numpy().astype(np.int64)
        span = int(values.max()) - int(values.min()) + 1
        if int(values.max()) + (copies - 1) * span > np.iinfo(np.int64).max:
            raise ValueError("tiled IDs would not fit in int64")
        return rows, pa.array(values[rows] + copy * span, type=source_ids.type)  # copy-major: already sorted
    suffix = pc.binary_join_element_wise(pa.array(np.full(customers, ".")), pa.array(copy.astype(str)), "")
    new = pc.if_else(
        pa.array(copy == 0),
        source_ids.take(pa.array(rows)),
        pc.binary_join_element_wise(source_ids.take(pa.array(rows)), suffix, ""),
    )
    if pc.max(pc.utf8_length(new)).as_py() > layout.ID_MAX_LENGTH:
        raise ValueError(f"tiled IDs would be longer than {layout.ID_MAX_LENGTH} characters")
    order = pc.sort_indices(new).to_numpy()
    return rows[order], new.take(pa.array(order))


def tile(source: Bundle, root: Path, name: str, customers: int) -> Bundle:
    manifest = {k: v for k, v in source.manifest.items() if k not in ("files", "schema_version", "bundle", "run_id")}
    if id_hashing.is_hashed(manifest):
        raise BundleError("Bundles with hashed IDs can't be tiled (new IDs would need the key).")
    tables = per_customer_tables(manifest)
    source_ids = source.read_table(layout.CUSTOMERS, columns=[layout.ID_COLUMN]).column(0).combine_chunks()
    rows, new_ids = tiled_rows(source_ids, customers)
    take = pa.array(rows)
    splits = source.read_table(layout.CUSTOMERS, columns=[layout.SPLIT_COLUMN]).column(0).combine_chunks().take(take)
    test_rows = int(pc.sum(pc.equal(splits, "test")).as_py() or 0)
    manifest["dataset"] = {
        **manifest["dataset"],
        "rows": customers,
        "tiled_from": {"bundle": source.name, "run_id": source.run_id, "rows": len(source_ids)},
    }
    manifest["split"] = {**manifest["split"], "train_rows": customers - test_rows, "test_rows": test_rows}
    run_id = time.strftime("tiled-%Y%m%dT%H%M%S")
    with stage_bundle(root, name, run_id) as staged:
        for relpath in source.manifest["files"]:
            if relpath not in tables and relpath != layout.MANIFEST:
                shutil.copyfile(source.file(relpath), staged.target(relpath))
        for relpath in tables:  # one table at a time: memory holds one tiled table
            table = source.read_table(relpath).take(take)
            index = table.schema.get_field_index(layout.ID_COLUMN)
            staged.write_table(relpath, table.set_column(index, layout.ID_COLUMN, new_ids))
            del table
        return staged.publish(json.loads(json.dumps(manifest)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.tile_bundle", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--from", dest="source", type=Path, required=True, help="a published bundle (artifacts/NAME)")
    parser.add_argument("--to", type=Path, required=True, help="where to publish (ROOT/NAME)")
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    if args.customers < 1:
        parser.error("--customers must be positive")
    started = time.perf_counter()
    try:
        bundle = tile(open_bundle(args.source), args.to.parent, args.to.name, args.customers)
    except (BundleError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print(
        f"published {bundle.name} run {bundle.run_id}: {args.customers:,} customers "
        f"in {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Invariants of a bundle's item tables (bundles trained from an event log).

The per-item tables are small (one row per item) and read whole. CUSTOMER_ITEMS (up to
`history_items` rows per customer) is streamed in step with customers.parquet's IDs: both
are sorted, so a merge walk checks its owners with one batch of each in memory."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from bundle import layout, streaming
from bundle.files import Bundle, read_schema
from bundle.item_vectors import vector_arrays

RECENT = layout.CUSTOMER_ITEMS


def item_problems(bundle: Bundle) -> list[str]:
    """Every broken item invariant, as sentences (empty = sound or no items). The manifest's
    `items` entry has passed the schema (bundle/schema/), so its shape needs no guards here."""
    entry = bundle.manifest.get("items")
    if entry is None:
        return []
    listed = bundle.manifest["files"]
    missing = [
        p for p in (layout.ITEMS, layout.ITEM_VECTORS, layout.ITEM_MAP, layout.CUSTOMER_ITEMS) if p not in listed
    ]
    if not any(f.startswith(layout.WORD2VEC_DIR + "/data/") for f in listed):
        missing.append(layout.WORD2VEC_DIR)
    if missing:
        return [f"the bundle has item vectors but lacks {', '.join(missing)}"]
    items = bundle.read_table(layout.ITEMS)
    item_map = bundle.read_table(layout.ITEM_MAP)
    try:
        ids, vectors = vector_arrays(bundle.read_table(layout.ITEM_VECTORS))
    except ValueError as exc:
        return [f"{layout.ITEM_VECTORS}: {exc}"]
    problems = []
    if len(ids) == 0:
        return [f"{layout.ITEM_VECTORS} holds no items"]
    if not np.isfinite(vectors).all():
        return [f"{layout.ITEM_VECTORS}: some item vectors are not finite"]
    if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
        problems.append(f"{layout.ITEM_VECTORS} is not sorted by unique {layout.ITEM_ID_COLUMN}")
    for relpath, table in ((layout.ITEMS, items), (layout.ITEM_MAP, item_map)):
        column = table.column(layout.ITEM_ID_COLUMN).to_numpy(zero_copy_only=False).astype(str)
        if len(column) != len(ids) or not np.array_equal(column, ids):
            problems.append(f"{relpath} is not aligned row by row with {layout.ITEM_VECTORS}")
    if entry.get("items") != len(ids) or entry.get("dimensions") != vectors.shape[1]:
        problems.append("the manifest's item count or vector size disagrees with the vectors")
    if {"title", "year", "genres", "users"} - set(items.column_names):
        problems.append(f"{layout.ITEMS} lacks title, year, genres or users")
    pca = np.column_stack([item_map.column(c).to_numpy() for c in ("pca_x", "pca_y")])
    tsne = np.column_stack([item_map.column(c).to_numpy() for c in ("tsne_x", "tsne_y")])
    # t-SNE may cover only the most-used items (NaN elsewhere), but a point has both coordinates or neither.
    if (
        not np.isfinite(pca).all()
        or not np.array_equal(np.isnan(tsne[:, 0]), np.isnan(tsne[:, 1]))
        or np.isinf(tsne).any()
    ):
        problems.append(f"{layout.ITEM_MAP} has non-finite coordinates")
    params = entry.get("params")
    limit = params.get("history_items") if isinstance(params, dict) else None
    return problems + recent_items_problems(
        bundle, limit if isinstance(limit, int) and not isinstance(limit, bool) else None
    )


def recent_items_problems(bundle: Bundle, history_items: int | None = None) -> list[str]:
    """CUSTOMER_ITEMS: the ID column typed as customers.parquet's; rows sorted by (customer_id, rank),
    each customer's ranks 0, 1, 2, … (below `history_items`); every owner a customer. Streamed: one
    batch of this table and one of the customer IDs in memory."""
    schema = _schema(bundle, RECENT)
    missing = [c for c in (layout.ID_COLUMN, "rank", layout.ITEM_ID_COLUMN) if c not in schema.names]
    if missing:
        return [f"{RECENT} lacks the column(s) {', '.join(missing)}"]
    id_type, rank_type = schema.field(layout.ID_COLUMN).type, schema.field("rank").type
    customer_type = _schema(bundle, layout.CUSTOMERS).field(layout.ID_COLUMN).type
    if id_type != customer_type:
        return [f"{RECENT} stores {layout.ID_COLUMN} as {id_type}, {layout.CUSTOMERS} as {customer_type}"]
    if not pa.types.is_integer(rank_type):
        return [f"{RECENT} stores rank as {rank_type}, not whole numbers"]

    customers = _id_batches(bundle, layout.CUSTOMERS)
    window = None  # the customer IDs batch the walk is in
    tail = None  # the previous batch's last (owner, rank)
    for chunk in streaming.batches(bundle.path, RECENT, bundle.name, [layout.ID_COLUMN, "rank"]):
        if not chunk.num_rows:
            continue
        if chunk.column(layout.ID_COLUMN).null_count or chunk.column("rank").null_count:
            return [f"{RECENT} has rows without a {layout.ID_COLUMN} or rank"]
        owners = streaming.column(chunk, layout.ID_COLUMN)
        ranks = streaming.column(chunk, "rank").astype(np.int64)
        if (ranks < 0).any():
            return [f"{RECENT} has negative ranks"]
        if history_items is not None and (ranks >= history_items).any():
            return [
                f"{RECENT} has ranks of {history_items} or more (the manifest keeps {history_items} items per customer)"
            ]
        # Row i continues row i-1's customer with the next rank, or starts a later customer at rank 0.
        all_owners = owners if tail is None else np.concatenate([tail[0], owners])
        all_ranks = ranks if tail is None else np.concatenate([tail[1], ranks])
        if tail is None and all_ranks[0] != 0:
            return [f"{RECENT}: each customer's ranks must run 0, 1, 2, … (latest first)"]
        before, after = all_owners[:-1], all_owners[1:]
        if (after < before).any():
            return [f"{RECENT} is not sorted by {layout.ID_COLUMN} then rank"]
        same = after == before
        if (same & (all_ranks[1:] != all_ranks[:-1] + 1)).any() or (~same & (all_ranks[1:] != 0)).any():
            return [f"{RECENT}: each customer's ranks must run 0, 1, 2, … (latest first)"]
        tail = (owners[-1:], ranks[-1:])
        # Owners ⊆ customers, as a merge walk: both sides are sorted.
        pending = owners[np.concatenate([[True], owners[1:] != owners[:-1]])]
        while len(pending):
            if window is None or window[-1] < pending[0]:
                window = next(customers, None)
                if window is None:
                    return [f"{RECENT} names customers that are not in {layout.CUSTOMERS}"]
                continue
            head = pending[: np.searchsorted(pending, window[-1], side="right")]
            found = window[np.minimum(np.searchsorted(window, head), len(window) - 1)] == head
            if not found.all():
                return [f"{RECENT} names customers that are not in {layout.CUSTOMERS}"]
            pending = pending[len(head) :]
    return []


def _id_batches(bundle: Bundle, relpath: str) -> Iterator[np.ndarray]:
    for chunk in streaming.batches(bundle.path, relpath, bundle.name, [layout.ID_COLUMN]):
        if chunk.num_rows:
            yield streaming.column(chunk, layout.ID_COLUMN)


def _schema(bundle: Bundle, relpath: str) -> pa.Schema:
    return read_schema(bundle.path, relpath, bundle.name)

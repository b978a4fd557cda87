"""Invariants of a bundle's item tables (bundles trained from an event log)."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc

from bundle import layout
from bundle.items import ItemLookupError, read_vectors


def item_problems(bundle, customer_ids: np.ndarray) -> list[str]:
    """Every broken item invariant, as sentences (empty = sound or no items)."""
    entry = bundle.manifest.get("items")
    if entry is None:
        return []
    if not isinstance(entry, dict):
        return ["the manifest's 'items' entry should be an object"]
    listed = bundle.manifest["files"]
    missing = [p for p in (layout.ITEMS, layout.ITEM_VECTORS, layout.ITEM_MAP, layout.CUSTOMER_ITEMS) if p not in listed]
    if not any(f.startswith(layout.WORD2VEC_DIR + "/data/") for f in listed):
        missing.append(layout.WORD2VEC_DIR)
    if missing:
        return [f"the bundle has item vectors but lacks {', '.join(missing)}"]
    items = bundle.read_table(layout.ITEMS)
    item_map = bundle.read_table(layout.ITEM_MAP)
    try:
        index = read_vectors(bundle.read_table(layout.ITEM_VECTORS))
    except ItemLookupError as exc:
        return [f"{layout.ITEM_VECTORS}: {exc}"]
    ids = index.ids
    problems = []
    if len(ids) == 0:
        return [f"{layout.ITEM_VECTORS} holds no items"]
    if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
        problems.append(f"{layout.ITEM_VECTORS} is not sorted by unique {layout.ITEM_ID_COLUMN}")
    for relpath, table in ((layout.ITEMS, items), (layout.ITEM_MAP, item_map)):
        column = table.column(layout.ITEM_ID_COLUMN).to_numpy(zero_copy_only=False).astype(str)
        if len(column) != len(ids) or not np.array_equal(column, ids):
            problems.append(f"{relpath} is not aligned row by row with {layout.ITEM_VECTORS}")
    if entry.get("items") != len(ids) or entry.get("dimensions") != index.dimensions:
        problems.append("the manifest's item count or vector size disagrees with the vectors")
    if {"title", "year", "genres", "users"} - set(items.column_names):
        problems.append(f"{layout.ITEMS} lacks title, year, genres or users")
    pca = np.column_stack([item_map.column(c).to_numpy() for c in ("pca_x", "pca_y")])
    tsne = np.column_stack([item_map.column(c).to_numpy() for c in ("tsne_x", "tsne_y")])
    # t-SNE may cover only the most-used items (NaN elsewhere), but a point has both coordinates or neither.
    if not np.isfinite(pca).all() or not np.array_equal(np.isnan(tsne[:, 0]), np.isnan(tsne[:, 1])) or np.isinf(tsne).any():
        problems.append(f"{layout.ITEM_MAP} has non-finite coordinates")
    recent = bundle.read_table(layout.CUSTOMER_ITEMS)
    owners = recent.column(layout.ID_COLUMN).to_numpy(zero_copy_only=False)
    if not np.isin(owners, customer_ids).all():
        problems.append(f"{layout.CUSTOMER_ITEMS} names customers that are not in {layout.CUSTOMERS}")
    if recent.num_rows and pc.min(recent.column("rank")).as_py() < 0:
        problems.append(f"{layout.CUSTOMER_ITEMS} has negative ranks")
    return problems

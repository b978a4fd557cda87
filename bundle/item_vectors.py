"""The item vector table's layout read into arrays: the contract's part of item vectors.

`store/items.py` builds its search index from these arrays; `bundle/item_checks.py`
checks them before a bundle is published. Both read the table the same way here."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from bundle import layout


def vector_arrays(table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """(item IDs as str, vectors as a float32 matrix, one row per item) of an ITEM_VECTORS table.

    Raises ValueError with a readable sentence when the vectors are not one fixed-size
    list of numbers per item."""
    if layout.ITEM_ID_COLUMN not in table.column_names or "vector" not in table.column_names:
        raise ValueError(f"the table needs the columns {layout.ITEM_ID_COLUMN} and vector")
    column = table.column("vector").combine_chunks()
    ids = table.column(layout.ITEM_ID_COLUMN).to_numpy(zero_copy_only=False).astype(str)
    if pa.types.is_fixed_size_list(column.type):
        width = column.type.list_size
        values = column.flatten().to_numpy(zero_copy_only=False)
        return ids, np.asarray(values, dtype=np.float32).reshape(len(column), width)
    try:
        # Variable-length lists (e.g. written by other tools): numpy refuses ragged rows.
        matrix = np.asarray(column.to_pylist(), dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError("item vectors differ in length or hold non-numbers") from None
    if matrix.ndim != 2 or len(matrix) != len(ids):
        raise ValueError(f"{len(ids)} item IDs but a vector table of shape {matrix.shape}")
    return ids, matrix

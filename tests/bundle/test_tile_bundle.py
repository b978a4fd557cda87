"""The bench's tiling tool publishes a valid, larger bundle of copied rows (no Spark)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.tile_bundle import tile
from bundle import layout
from store.customers import CustomerRecord, CustomerStore
from tests.bundle.tiny import write_tiny_bundle


@pytest.mark.parametrize("ids", [None, ["A-1", "b.2", "c/3"]])
def test_tiled_bundle_repeats_rows_under_new_sorted_ids(tmp_path, ids):
    source = write_tiny_bundle(tmp_path / "src", ids=ids)
    tiled = tile(source, tmp_path / "out", "big", 10)  # published: the writer checked every invariant
    assert tiled.manifest["dataset"]["rows"] == 10
    big, small = CustomerStore(tiled), CustomerStore(source)
    new_ids = [big.customer_id(i) for i in range(len(big))]
    assert len(big) == 10 and len(set(new_ids)) == 10 and new_ids == sorted(new_ids)
    assert {small.customer_id(i) for i in range(3)} <= set(new_ids)  # copy 0 keeps its IDs
    seen = set()
    for pos in range(10):
        record = big.record_at(pos)
        # Integer IDs tile copy-major (row pos is source row pos % 3); string IDs are "<source id>.<copy>".
        original = small.record_at(pos % 3) if ids is None else _source_of(small, record.customer_id)
        assert record.features.keys() == original.features.keys()
        assert all(
            a == b or (a != a and b != b)
            for a, b in zip(record.features.values(), original.features.values(), strict=True)
        )
        assert record.shap == original.shap and record.margin == original.margin and record.label == original.label
        seen.add(original.customer_id)
    assert seen == {small.customer_id(i) for i in range(3)}
    tiled_p = big.probabilities("lin")
    assert np.isclose(tiled_p.mean(), np.mean([small.probabilities("lin")[i % 3] for i in range(10)]))
    assert tiled.file(layout.ICE).read_bytes() == source.file(layout.ICE).read_bytes()


def _source_of(small: CustomerStore, customer_id: int | str) -> CustomerRecord:
    """The source customer of a tiled string ID ("<source id>.<copy>")."""
    originals = {small.customer_id(i) for i in range(len(small))}
    return small.lookup(customer_id if customer_id in originals else str(customer_id).rsplit(".", 1)[0])

"""Above a size, the global page's data is a fixed sample of customers, rows still aligned (no Spark)."""

from __future__ import annotations

import numpy as np

from bench.tile_bundle import tile
from bundle import layout
from dashboard.views.global_explanations.view import build_global_view, load_explain_data
from tests.bundle.tiny import write_tiny_bundle


def test_large_bundles_are_sampled_with_aligned_rows_and_the_ice_customers(tmp_path):
    source = write_tiny_bundle(tmp_path / "src")
    big = tile(source, tmp_path / "out", "big", 300)
    whole = load_explain_data(big)
    assert not whole.sampled and len(whole.frame) == whole.total == 300
    sample = load_explain_data(big, max_rows=40)
    assert sample.sampled and sample.total == 300 and 40 <= len(sample.frame) <= 41
    ice_ids = set(big.read_table(layout.ICE).column(layout.ID_COLUMN).to_pylist())
    assert ice_ids <= set(sample.frame[layout.ID_COLUMN])
    ids = sample.frame[layout.ID_COLUMN].to_numpy()
    assert list(ids) == sorted(ids)
    rows = np.searchsorted(whole.frame[layout.ID_COLUMN].to_numpy(), ids)
    assert np.array_equal(sample.shap["lin"], whole.shap["lin"][rows])
    assert np.array_equal(sample.probability["lin"], whole.probability["lin"][rows])
    assert np.array_equal(load_explain_data(big, max_rows=40).frame[layout.ID_COLUMN], ids)  # fixed seed
    view = build_global_view(sample, "lin", [])
    assert view.cohort_size == len(sample.frame)

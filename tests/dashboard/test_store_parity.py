"""The on-disk customer store gives exactly what a full load of every column gives, for every model."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from bundle import layout
from bundle.manifest import feature_names
from store.customers import CustomerStore


@pytest.fixture(scope="module")
def full(telco_bundle) -> dict:
    """Every column of every per-customer table in memory: what the store used to hold."""
    names = feature_names(telco_bundle.manifest)
    out = {"customers": pq.read_table(telco_bundle.file(layout.CUSTOMERS)), "models": {}}
    for model in telco_bundle.manifest["models"]:
        predictions = pq.read_table(telco_bundle.file(layout.predictions_path(model)))
        shap = pq.read_table(telco_bundle.file(layout.shap_path(model)), columns=names)
        out["models"][model] = {
            "p": predictions.column(layout.PROBABILITY_COLUMN).to_numpy(),
            "margin": predictions.column(layout.MARGIN_COLUMN).to_numpy(),
            "shap": np.column_stack([shap.column(n).to_numpy() for n in names]),
        }
    return out


def _same(a: object, b: object) -> bool:
    return (a != a and b != b) or a == b  # NaN == NaN here


def test_every_record_equals_the_full_load_for_every_model(telco_bundle, full):
    store = CustomerStore(telco_bundle)
    names = store.features
    customers = full["customers"]
    n = customers.num_rows
    assert len(store) == n and len(store.models) == len(telco_bundle.manifest["models"]) >= 2
    for pos in [0, n - 1, *range(1, n - 1, 97)]:
        record = store.record_at(pos)
        assert record.customer_id == customers.column(layout.ID_COLUMN)[pos].as_py()
        assert store.lookup(str(record.customer_id)) is record  # served from the recent records
        assert record.label == customers.column(layout.LABEL_COLUMN)[pos].as_py()
        assert record.split == customers.column(layout.SPLIT_COLUMN)[pos].as_py()
        for name in names:
            expected = customers.column(name).to_numpy(zero_copy_only=False)[pos]
            assert _same(record.features[name], expected.item() if isinstance(expected, np.generic) else expected)
        for model, want in full["models"].items():
            assert record.probability[model] == want["p"][pos]
            assert record.margin[model] == want["margin"][pos]
            assert [record.shap[model][f] for f in names] == want["shap"][pos].tolist()
            assert store.shap_row(model, pos).tolist() == want["shap"][pos].tolist()
            lower = np.count_nonzero(want["p"] < want["p"][pos])
            assert record.percentile[model] == pytest.approx(100.0 * lower / n, abs=1e-12)


def test_whole_columns_equal_the_full_load(telco_bundle, full):
    store = CustomerStore(telco_bundle)
    customers = full["customers"]
    assert np.array_equal(store.labels(), customers.column(layout.LABEL_COLUMN).to_numpy())
    for name in store.features:
        expected = customers.column(name).to_numpy(zero_copy_only=False)
        got = store.feature_column(name)
        assert len(got) == len(expected)
        assert all(
            _same(g, e) or (g != g and e is None) for g, e in zip(np.asarray(got, dtype=object), expected, strict=True)
        )
    for model, want in full["models"].items():
        assert np.array_equal(store.probabilities(model), want["p"])
        assert np.array_equal(store.main_reasons(model), np.argmax(want["shap"], axis=1))
        assert np.array_equal(store.shap_matrix(model), want["shap"].astype(np.float32))
    assert all(dtype != "object" for dtype, _ in store.held().values())


def test_nearest_matches_a_brute_force_search_for_every_model(telco_bundle, full):
    store = CustomerStore(telco_bundle)
    for model, want in full["models"].items():
        matrix = want["shap"].astype(np.float32)
        for pos in (0, 5, len(matrix) - 1):
            positions, distances = store.nearest(model, pos, 7)
            diff = matrix - matrix[pos]
            brute = np.einsum("ij,ij->i", diff, diff)
            brute[pos] = np.inf
            order = np.argsort(brute, kind="stable")[:7]
            assert pos not in positions
            assert np.allclose(distances, np.sqrt(brute[order].astype(np.float64)))
            assert set(positions) == set(order) or np.allclose(np.sort(brute[positions]), brute[order])

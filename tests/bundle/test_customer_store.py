"""The customer store reads rows from disk by position and loads whole columns only when asked (no Spark)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from bundle import ids, layout
from store.customers import CustomerStore, MalformedCustomerId, UnknownCustomer
from store.rows import read_rows
from tests.bundle.tiny import write_tiny_bundle


def test_nothing_per_customer_but_ids_is_loaded_until_asked(tmp_path):
    store = CustomerStore(write_tiny_bundle(tmp_path))
    assert set(store.held()) == {"ids"} and store.held()["ids"] == ("int64", 3 * 8)
    record = store.lookup("7")
    assert record.shap["lin"] == {"tenure": 1.0, "contract": 1.0} and record.features["contract"] == "Yearly"
    assert record.probability["lin"] == pytest.approx(1 / (1 + np.exp(-1.0))) and record.margin["lin"] == 1.0
    assert set(store.held()) == {"ids"}  # a record is read from the rows that hold it
    assert record.percentile["lin"] == pytest.approx(100 * 2 / 3)  # needs the model's sorted probabilities
    assert set(store.held()) == {"ids", "probability/lin", "sorted/lin"}
    store.main_reasons("lin")
    assert "shap32/lin" not in store.held()
    store.nearest("lin", 0, 1)
    held = store.held()
    assert held["shap32/lin"] == ("float32", 3 * 2 * 4) and held["reason/lin"] == ("uint8", 3)
    assert all(dtype != "object" for dtype, _ in held.values())


def test_categorical_features_are_codes_and_shared_arrays_are_read_only(tmp_path):
    store = CustomerStore(write_tiny_bundle(tmp_path))
    contract = store.feature_column("contract")
    assert isinstance(contract, pd.Categorical) and contract.codes.dtype == np.int8
    assert list(contract) == ["Monthly", "Yearly", "Monthly"]
    assert np.asarray(contract == "Yearly").tolist() == [False, True, False]
    assert not np.asarray(contract == "Two year").any()  # a value no customer has
    tenure = store.feature_column("tenure")
    assert tenure.dtype == np.float64 and np.isnan(tenure[2]) and tenure[:2].tolist() == [1.0, 30.0]
    assert store.labels().tolist() == [1, 0, 0] and store.labels().dtype == np.int8
    for array in (
        tenure,
        store.labels(),
        store.probabilities("lin"),
        store.main_reasons("lin"),
        store.shap_matrix("lin"),
    ):
        with pytest.raises(ValueError):
            array[0] = 0
    with pytest.raises(KeyError):
        store.feature_column("no_such_feature")


def test_string_ids_are_an_arrow_array_found_by_bisection(tmp_path):
    store = CustomerStore(write_tiny_bundle(tmp_path, ids=["A-1", "b.2", "c/3"]))
    assert store.held()["ids"][0].startswith("arrow:")
    assert [store.position(i) for i in ("A-1", "b.2", "c/3")] == [0, 1, 2]
    assert store.lookup(" b.2 ").customer_id == "b.2" and store.customer_id(2) == "c/3"
    for unknown in ("A-0", "b.3", "zzz", "0"):
        with pytest.raises(UnknownCustomer):
            store.lookup(unknown)
    assert store.example_ids(3) == ["A-1", "b.2", "c/3"]


def test_int_ids_out_of_range_are_unknown_not_errors(tmp_path):
    store = CustomerStore(write_tiny_bundle(tmp_path))
    for unknown in ("2", "12", str(2**70), str(-(2**70))):
        with pytest.raises(UnknownCustomer):
            store.position(unknown)
    with pytest.raises(MalformedCustomerId):
        store.position("1.5")
    with pytest.raises(IndexError):
        store.record_at(3)


def test_hashed_ids_are_looked_up_by_the_hash_of_what_is_typed(tmp_path, monkeypatch):
    monkeypatch.setenv(ids.KEY_ENV, "0123456789abcdef" * 4)
    key = ids.require_key()
    raw = ["C-1", "C-2", "C-3"]
    hashed = sorted(ids.hash_id(r, key) for r in raw)
    bundle = write_tiny_bundle(tmp_path, ids=hashed)
    manifest = {**bundle.manifest, "dataset": {**bundle.manifest["dataset"], "id_hashing": ids.manifest_entry()}}
    store = CustomerStore(dataclasses.replace(bundle, manifest=manifest))
    for r in raw:
        assert store.lookup(r).customer_id == ids.hash_id(r, key)
        assert store.url_id(r) == ids.hash_id(r, key)
    assert store.lookup(hashed[1].upper()).customer_id == hashed[1]  # a shared link's hash
    with pytest.raises(UnknownCustomer):
        store.lookup("C-4")


def test_rows_are_read_across_row_groups(tmp_path):
    """Row groups of two rows: every row is found in the right group, sequentially or not."""
    import pyarrow.parquet as pq

    bundle = write_tiny_bundle(tmp_path)
    full = {r: pq.read_table(bundle.file(r)) for r in (layout.CUSTOMERS, layout.shap_path("lin"))}
    for relpath, table in full.items():
        pq.write_table(table, bundle.file(relpath), row_group_size=2)
    store = CustomerStore(bundle)
    assert pq.ParquetFile(bundle.file(layout.CUSTOMERS)).num_row_groups == 2
    for pos in (2, 0, 1, 2):
        record = store.record_at(pos)
        assert record.customer_id == full[layout.CUSTOMERS].column(layout.ID_COLUMN)[pos].as_py()
        assert record.shap["lin"]["tenure"] == full[layout.shap_path("lin")].column("tenure")[pos].as_py()
    assert read_rows(bundle, layout.CUSTOMERS, np.array([0, 2]), [layout.ID_COLUMN]).column(0).to_pylist() == [3, 11]
    assert store.main_reasons("lin").tolist() == [0, 0, 0]  # tenure ties/beats contract in every row

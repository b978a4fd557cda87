"""The training run is the first snapshot of its bundle's history."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq

from bundle import history, layout


def test_training_run_is_the_first_snapshot(bundle_root, telco_bundle):
    snapshots = history.open_history(bundle_root, "telco", verify=True)
    first = snapshots[0]
    assert first.meta["kind"] == "training"
    assert first.generation == telco_bundle.run_id
    assert first.label == telco_bundle.manifest["history"]["training_snapshot"]
    rows = pq.read_table(first.path / history.ROWS)
    stored = telco_bundle.read_table(layout.predictions_path("xgboost"))
    assert rows[layout.ID_COLUMN].equals(stored[layout.ID_COLUMN])
    assert np.array_equal(rows[history.probability_column("xgboost")].to_numpy(), stored["probability"].to_numpy())
    figures = first.aggregates()
    assert all(f["status"] == "stable" for f in figures["features"])
    assert set(figures["models"]) == set(telco_bundle.manifest["models"])

"""A retrain between two snapshots: the history keeps both generations and the Customer page separates what
the model changed from what the data changed (the earlier data scored again by the newer model)."""

from __future__ import annotations

import json
import shutil

import pytest

from bundle import history, layout
from bundle.reader import open_bundle
from bundle.writer import stage_bundle
from dashboard.shell import data
from dashboard.views.customer.history import build_history_view
from store.history import HistoryStore
from training.history import keep_training_snapshot


@pytest.fixture(scope="module")
def retrained_root(history_root, tmp_path_factory):
    """The history's bundle published again as a new run (same models, so a new generation whose model
    change must come out as zero), with its training snapshot appended by the publish."""
    root = tmp_path_factory.mktemp("retrained") / "artifacts"
    shutil.copytree(history_root, root, symlinks=True)
    old = open_bundle(root / "telco")
    manifest = json.loads((old.path / layout.MANIFEST).read_text())
    for key in ("files", "run_id"):
        manifest.pop(key)
    manifest["history"] = {"generation": "gen2", "training_snapshot": "retrained", "note": "republished"}
    with stage_bundle(root, "telco", "gen2") as staged:
        shutil.copytree(old.path, staged.path, dirs_exist_ok=True, ignore=shutil.ignore_patterns(layout.MANIFEST))
        staged.publish(manifest, after_swap=lambda published: keep_training_snapshot(published, "retrained"))
    return root


def test_a_retrain_adds_a_generation_and_keeps_every_snapshot(retrained_root, history_root):
    snapshots = history.open_history(retrained_root, "telco", verify=True)
    assert [s.label for s in snapshots][:-1] == [s.label for s in history.open_history(history_root, "telco")]
    assert snapshots[-1].label == "retrained" and snapshots[-1].generation == "gen2"
    assert history.read_index(retrained_root, "telco")["generations"][-1] == "gen2"


def test_model_change_and_data_change_are_separated(retrained_root, monkeypatch):
    monkeypatch.setenv(data.ARTIFACTS_ENV, str(retrained_root))
    bundle = open_bundle(retrained_root / "telco", name="telco")
    store = HistoryStore.open(retrained_root, "telco")
    customer = _both(store)
    runtime = data.load_runtime(bundle, "xgboost")
    view = build_history_view(bundle, store, customer, "xgboost", runtime, "retrained")
    assert view is not None and view.previous == "2026-05"
    assert "Model change (new model on the 2026-05 data)" in view.model_text
    assert "(+0.0 pts); data change" in view.model_text or "(-0.0 pts); data change" in view.model_text
    assert abs(view.remainder) < 1e-3


def _both(store: HistoryStore) -> int:
    import pyarrow.parquet as pq

    ids = [set(pq.read_table(s.path / history.ROWS, columns=[layout.ID_COLUMN]).column(0).to_pylist())
           for s in store.snapshots[-2:]]  # fmt: skip
    return int(min(ids[0] & ids[1]))

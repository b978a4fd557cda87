"""A customer's history and the Monitoring page on the simulated months: exact attribution, lookups, AppTest."""

from __future__ import annotations

import math

import numpy as np
import pyarrow.parquet as pq
import pytest

from bundle import history, layout
from bundle.reader import open_bundle
from dashboard.shell import data
from dashboard.views.customer.history import attribute, build_history_view
from dashboard.views.monitoring import build_monitoring_view
from runtime import Calibration
from store.history import HistoryStore
from tests.dashboard.dashboard_helpers import open_app

TIMEOUT = 120


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_attribution_sums_to_the_log_odds_change_for_every_customer_and_model(history_root):
    bundle = open_bundle(history_root / "telco")
    snapshots = history.open_history(history_root, "telco")
    features = bundle.manifest["features"]
    checked = 0
    for then, now in zip(snapshots, snapshots[1:]):
        a = pq.read_table(then.path / history.ROWS).to_pandas().set_index(layout.ID_COLUMN)
        b = pq.read_table(now.path / history.ROWS).to_pandas().set_index(layout.ID_COLUMN)
        both = a.index.intersection(b.index)
        for model in bundle.manifest["models"]:
            calibration = Calibration.from_manifest(bundle.manifest["models"][model]["calibration"])
            for customer in both:
                before, after = a.loc[customer].to_dict(), b.loc[customer].to_dict()
                changes, remainder = attribute(features, before, after, model, calibration.slope)
                parts = math.fsum([*(c.effect for c in changes), remainder])
                p0, p1 = before[history.probability_column(model)], after[history.probability_column(model)]
                if 1e-6 < p0 < 1 - 1e-6 and 1e-6 < p1 < 1 - 1e-6:
                    assert abs(parts - (_logit(p1) - _logit(p0))) <= 1e-9 * max(1.0, abs(parts)) + 1e-9
                # The model's own additivity gap stays within the bundle's local-accuracy tolerance.
                assert abs(remainder) <= 2 * layout.LOCAL_ACCURACY_TOLERANCE * abs(calibration.slope)
                checked += 1
    assert checked > 4 * 1000


def test_a_customers_history_over_every_snapshot(history_root, month_files):
    import pandas as pd

    store = HistoryStore.open(history_root, "telco")
    absent_in = pd.read_parquet(month_files[1])  # month 3's file
    ids = pq.read_table(store.snapshots[0].path / history.ROWS, columns=[layout.ID_COLUMN]).column(0).to_numpy()
    missing = sorted(set(ids) - set(absent_in["rownames"]))
    customer = int(missing[0])
    rows = store.customer(customer, "xgboost", detail={"2026-02"})
    assert [r.snapshot.label for r in rows][2] == "2026-03" and rows[2].values is None
    assert rows[0].values is not None and rows[1].values is not None
    bundle = open_bundle(history_root / "telco")
    runtime = data.load_runtime(bundle, "xgboost")
    view = build_history_view(bundle, store, customer, "xgboost", runtime, "2026-03")
    assert view is not None and "Absent from snapshot 2026-03" in view.headline and not view.changes
    assert np.isnan(view.chart["probability"].iloc[2])
    assert store.customer(10**9, "xgboost")[0].values is None


def test_monitoring_view_comes_from_the_stored_figures(history_root):
    snapshots = history.open_history(history_root, "telco")
    view = build_monitoring_view(snapshots, "xgboost", "2026-05")
    assert view.selected == "2026-05" and view.previous == "2026-04" and view.simulated
    flagged = set(view.feature_drift.loc[view.feature_drift["Status"] != "stable", "Feature"])
    assert flagged == {"Contract", "Monthly charges ($)"}
    assert view.moved_total >= len(view.moved) > 0
    assert view.histogram["customers"].sum() == view.rows


@pytest.fixture
def artifacts(history_root, monkeypatch):
    monkeypatch.setenv(data.ARTIFACTS_ENV, str(history_root))
    return history_root


def _moved_customer(root, label: str) -> str:
    snapshot = {s.label: s for s in history.open_history(root, "telco")}[label]
    moved = pq.read_table(snapshot.path / history.MOVED).to_pandas()
    return str(moved.loc[moved["model"] == "xgboost", layout.ID_COLUMN].iloc[0])


def test_customer_page_shows_history_and_why_it_moved(artifacts):
    customer = _moved_customer(artifacts, "2026-05")
    at = open_app(TIMEOUT, customer=customer, model="xgboost", snapshot="2026-05")
    assert not at.exception
    text = "\n".join(str(m.value) for m in at.markdown).replace("\\", "")  # inert() escapes Markdown
    assert "Since 2026-04:" in text and "pts)" in text
    captions = "\n".join(str(c.value) for c in at.caption).replace("\\", "")
    assert "Simulated data" in captions and "log-odds" in captions
    table = next(d.value for d in at.dataframe if "What changed" in d.value.columns)
    assert table["What changed"].str.contains("Contract changed from").any()


def test_monitoring_page_by_url_and_opening_a_moved_customer(artifacts):
    at = open_app(TIMEOUT, "app_pages/monitoring.py", snapshot="2026-03")
    assert not at.exception
    assert at.selectbox(key="monitoring_snapshot").value == "2026-03"
    assert at.query_params["snapshot"] == ["2026-03"] or at.query_params["snapshot"] == "2026-03"
    assert any("Simulated data" in str(c.value) for c in at.caption)
    headers = [str(h.value) for h in at.subheader]
    assert headers == ["Scores", "Feature drift", "Explanation drift", "Moved risk band"]
    at.selectbox(key="monitoring_snapshot").set_value("2026-05").run()
    assert not at.exception
    at.button(key="monitoring_open").click().run()
    assert not at.exception
    assert any("Customer" == str(t.value) for t in at.title)

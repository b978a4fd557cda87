"""Scored snapshots on simulated months: what gets flagged, what is refused, what a snapshot holds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from bundle import history, layout
from training.datasets import monthly


def _flagged(snapshot: history.Snapshot) -> tuple[set[str], dict[str, set[str]]]:
    figures = snapshot.aggregates()
    features = {f["feature"] for f in figures["features"] if f["status"] != "stable"}
    explanations = {
        model: {f for f, entry in m["shap_drift"].items() if entry["status"] != "stable"}
        for model, m in figures["models"].items()
    }
    return features, explanations


def test_history_lists_training_then_months(history_root):
    snapshots = history.open_history(history_root, "telco", verify=True)
    assert [s.meta["kind"] for s in snapshots] == ["training", "scored", "scored", "scored", "scored"]
    assert [s.label for s in snapshots[1:]] == ["2026-02", "2026-03", "2026-04", "2026-05"]
    assert all(s.meta["simulated"] for s in snapshots[1:]) and not snapshots[0].meta["simulated"]
    assert len({s.generation for s in snapshots}) == 1


def test_injected_changes_and_only_those_are_flagged(history_root):
    """Feature drift flags exactly the changed features (cumulatively: a change persists). Explanation drift
    flags exactly them under the additive model (a logistic regression's SHAP value of a feature depends on
    that feature alone); tree models spread a change over the features it interacts with, so for them: every
    injected change is flagged in its month, and a month without one flags nothing new (docs/history.md)."""
    snapshots = {s.label: s for s in history.open_history(history_root, "telco")}
    injected: set[str] = set()
    before: dict[str, set[str]] = {}
    for month in range(2, 6):
        new = set(monthly.INJECTED.get(month, ()))
        injected |= new
        features, explanations = _flagged(snapshots[monthly.month_label("2026-01", month)])
        assert features == injected, (month, features)
        assert explanations["logistic"] == injected, (month, explanations["logistic"])
        for model, flagged in explanations.items():
            assert new <= flagged, (month, model, flagged)
            if not new:
                assert flagged <= before.get(model, set()), (month, model, flagged)
        before = explanations


def test_moved_band_customers_are_listed(history_root):
    snapshots = {s.label: s for s in history.open_history(history_root, "telco")}
    after_rise = snapshots["2026-03"]
    moved = pq.read_table(after_rise.path / history.MOVED).to_pandas()
    assert list(moved.columns) == list(history.MOVED_COLUMNS)
    assert len(moved) > 0 and (moved["band_before"] != moved["band_after"]).all()
    figures = after_rise.aggregates()
    assert figures["new_customers"] >= 0 and figures["gone_customers"] >= 0


def test_mismatched_columns_are_refused_by_name(spark, history_root, month_files, tmp_path):
    from bundle.reader import open_bundle
    from training.scoring import ScoringError
    from training.snapshot import score_snapshot

    frame = pd.read_parquet(month_files[0]).drop(columns=["contract"]).assign(shoe_size=42)
    path = tmp_path / "bad.parquet"
    frame.to_parquet(path, index=False)
    before = history.read_index(history_root, "telco")
    with pytest.raises(ScoringError, match=r"lacks 'contract'.*no column\(s\) 'shoe_size'"):
        score_snapshot(spark, open_bundle(history_root / "telco"), str(path), None, "2026-bad", simulated=True)
    assert history.read_index(history_root, "telco") == before


def test_a_taken_label_is_refused(spark, history_root, month_files):
    from bundle.errors import BundleError
    from bundle.reader import open_bundle
    from training.snapshot import score_snapshot

    with pytest.raises(BundleError, match="already has a snapshot labelled '2026-02'"):
        score_snapshot(spark, open_bundle(history_root / "telco"), str(month_files[0]), None, "2026-02")


def test_rows_are_sorted_and_absent_customers_are_absent(history_root, month_files):
    snapshot = {s.label: s for s in history.open_history(history_root, "telco")}["2026-04"]
    ids = pq.read_table(snapshot.path / history.ROWS, columns=[layout.ID_COLUMN]).column(0).to_numpy()
    assert np.all(np.diff(ids) > 0)
    source = pd.read_parquet(month_files[2])
    assert set(ids) == set(source[monthly.ID_COLUMN])


def test_the_cli_refuses_a_mismatched_snapshot_by_name_and_asks_for_one_target(
    history_root, month_files, tmp_path, capsys
):
    from training.__main__ import main

    frame = pd.read_parquet(month_files[0]).drop(columns=["tenure"]).assign(colour="red")
    path = tmp_path / "bad month.parquet"
    frame.to_parquet(path, index=False)
    args = ["score", "--bundle", "telco", "--artifacts", str(history_root), "--input", str(path)]
    before = history.read_index(history_root, "telco")
    assert main([*args, "--snapshot", "2026-09", "--simulated"]) == 2
    err = capsys.readouterr().err
    assert "Snapshot '2026-09' of bundle 'telco' failed:" in err and "lacks 'tenure'" in err and "'colour'" in err
    assert "Traceback" not in err and history.read_index(history_root, "telco") == before
    assert main(args) == 2
    assert "give either --output (a scored table) or --snapshot LABEL" in capsys.readouterr().err

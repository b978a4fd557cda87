"""The open-time sample of stored scores: where it looks, and a real XGBoost bundle tampered."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from bundle import layout
from bundle.reader import BundleError, open_bundle
from bundle.score_sample import SAMPLE_GROUPS, SAMPLE_ROWS, sample_positions
from tests.bundle.corrupt import rewrite


def test_the_sample_spreads_over_first_middle_and_last_row_groups():
    starts = np.arange(0, 1_000_001, 50_000)  # 20 row groups of 50,000 rows
    positions = sample_positions(starts)
    groups = np.unique(np.searchsorted(starts, positions, side="right") - 1)
    assert len(groups) == SAMPLE_GROUPS and groups[0] == 0 and groups[-1] == 19
    assert SAMPLE_ROWS - SAMPLE_GROUPS <= len(positions) <= SAMPLE_ROWS
    assert positions.min() == 0 and positions.max() == 999_999
    assert np.all(np.diff(positions) > 0)


def test_small_tables_are_checked_whole():
    assert sample_positions(np.array([0, 3])).tolist() == [0, 1, 2]
    assert sample_positions(np.array([0])).size == 0


@pytest.fixture
def telco_copy(telco_bundle, tmp_path):
    target = tmp_path / "telco"
    shutil.copytree(telco_bundle.path, target)
    return target


def test_a_feature_removed_from_an_xgboost_bundle_is_refused_before_xgboost_sees_a_row(telco_copy):
    manifest = open_bundle(telco_copy).manifest
    xgb = [m for m, e in manifest["models"].items() if e["runtime"]["kind"] == "xgboost"]
    assert xgb, "the Telco test bundle has an XGBoost model"
    last = manifest["features"][-1]["name"]
    width = len(manifest["encoding"])
    dropped = sum(e["feature"] == last for e in manifest["encoding"])

    def change(m: dict) -> None:
        m["features"] = [f for f in m["features"] if f["name"] != last]
        m["encoding"] = [e for e in m["encoding"] if e["feature"] != last]

    rewrite(telco_copy, manifest_change=change)
    with pytest.raises(BundleError) as refused:
        open_bundle(telco_copy)
    assert (
        f"model '{xgb[0]}' cannot run: the model file takes {width} input columns but the manifest's features "
        f"and encoding give {width - dropped}" in str(refused.value)
    )


def test_scores_shifted_against_their_ids_are_refused_on_a_real_bundle(telco_copy):
    champion = open_bundle(telco_copy).manifest["champion"]
    columns = [layout.PROBABILITY_COLUMN, layout.MARGIN_COLUMN]
    rewrite(
        telco_copy,
        {layout.predictions_path(champion): lambda f: f.assign(**{c: np.roll(f[c].to_numpy(), 1) for c in columns})},
    )
    with pytest.raises(BundleError, match=f"model '{champion}': its stored probability of customer"):
        open_bundle(telco_copy)

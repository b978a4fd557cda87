"""Partial dependence / ICE re-derived independently, and the tuning record, on the
session's trained Telco bundle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bundle import layout
from bundle.manifest import feature_names
from bundle.models import load_runtime
from training import tuning


@pytest.fixture(scope="module")
def raw_customers(telco_bundle) -> pd.DataFrame:
    names = feature_names(telco_bundle.manifest)
    return telco_bundle.read_table(layout.CUSTOMERS, columns=[layout.ID_COLUMN, *names]).to_pandas()


def _set(rows: pd.DataFrame, feature: str, value) -> pd.DataFrame:
    edited = rows.copy()
    edited[feature] = value
    return edited


@pytest.mark.parametrize(("model", "feature"), [("xgboost", "tenure"), ("sklearn", "contract")])
def test_pdp_rederived_by_setting_the_feature_and_averaging(telco_bundle, raw_customers, model, feature):
    pdp = telco_bundle.read_table(layout.PDP).to_pandas()
    curve = pdp[(pdp["model"] == model) & (pdp["feature"] == feature)].sort_values("grid_index")
    assert len(curve) >= 2
    # The session bundle has fewer customers than the PDP sample cap: every customer is averaged.
    assert (curve["customers"] == len(raw_customers)).all()
    runtime = load_runtime(telco_bundle, model)
    for _, point in curve.iterrows():
        value = point["value"] if np.isnan(point["numeric_value"]) else point["numeric_value"]
        expected = runtime.probability(_set(raw_customers, feature, value)).mean()
        assert point["average_probability"] == pytest.approx(expected, abs=1e-9)


def test_numeric_grid_spans_observed_min_and_max(telco_bundle, raw_customers):
    pdp = telco_bundle.read_table(layout.PDP).to_pandas()
    grid = pdp[(pdp["model"] == "logistic") & (pdp["feature"] == "monthly_charges")]["numeric_value"]
    observed = pd.to_numeric(raw_customers["monthly_charges"])
    assert grid.min() == observed.min() and grid.max() == observed.max()
    assert 5 <= len(grid) <= 20
    categories = pdp[(pdp["model"] == "logistic") & (pdp["feature"] == "contract")]
    assert categories["numeric_value"].isna().all() and len(categories) == raw_customers["contract"].nunique()


def test_ice_lines_are_single_customers_scored_at_each_grid_value(telco_bundle, raw_customers):
    ice = telco_bundle.read_table(layout.ICE).to_pandas()
    pdp = telco_bundle.read_table(layout.PDP).to_pandas()
    lines = ice[(ice["model"] == "gbt") & (ice["feature"] == "tenure")]
    customers = lines[layout.ID_COLUMN].unique()
    assert 1 <= len(customers) <= 50
    grid = pdp[(pdp["model"] == "gbt") & (pdp["feature"] == "tenure")].set_index("grid_index")["numeric_value"]
    runtime = load_runtime(telco_bundle, "gbt")
    for customer in customers[:3]:
        row = raw_customers[raw_customers[layout.ID_COLUMN] == customer]
        line = lines[lines[layout.ID_COLUMN] == customer].sort_values("grid_index")
        expected = [runtime.probability(_set(row, "tenure", grid[i]))[0] for i in line["grid_index"]]
        np.testing.assert_allclose(line["probability"], expected, atol=1e-9)


def test_every_tuned_model_records_its_grid_and_best_point(telco_bundle):
    models = telco_bundle.manifest["models"]
    for name in ("gbt", "xgboost", "sklearn"):
        record = models[name]["tuning"]
        # XGBoost early-stops on validation log loss (lower is better); the others score ROC AUC.
        metric = "log_loss" if name == "xgboost" else "roc_auc"
        assert record["metric"] == metric and "test split is not used" in record["validation"]
        assert "refit" not in record["method"] or "no refit" in record["method"]
        scores = [point["score"] for point in record["grid"]]
        assert len(scores) >= 2 and all(0.0 <= s <= 1.0 for s in scores)
        assert all(point["seconds"] > 0 for point in record["grid"])
        best = record["grid"][int(np.argmin(scores) if metric == "log_loss" else np.argmax(scores))]["params"]
        chosen = {k: v for k, v in best.items() if k != "best_iteration"}
        assert chosen.items() <= record["best_params"].items()
        assert record["best_params"].items() <= {**models[name]["params"]}.items()


def test_grid_points_leave_fixed_parameters_alone():
    points = tuning.grid_points("sklearn", "quick", fixed={"learning_rate": 0.2})
    assert points and all("learning_rate" not in p for p in points)
    assert tuning.grid_points("gbt", "off") == [{}]
    with pytest.raises(ValueError, match="tuning must be one of"):
        tuning.check_mode("huge")

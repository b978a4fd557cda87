"""The bundle's stored SHAP per feature, recomputed from the saved model files and raw features, for each model.

Local accuracy (base + ΣSHAP = margin) still holds when SHAP is credited to the
wrong feature; these tests catch that at the bundle level: the raw customers,
the manifest's encoding, the slot → feature grouping and what the Spark
explain stage stored. Each recomputation uses only what the bundle holds, each
model's file read by its own library. That the library's per-slot values are
themselves the exact Shapley values (and the exported covers right) is checked
against an independent subset-enumeration reference in
tests/runtime/test_exact_shapley.py, on models small enough to enumerate.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import shap
import xgboost

from bundle import layout
from bundle.manifest import feature_names
from runtime.encoding import encode_rows


@pytest.fixture(scope="module")
def encoded(telco_bundle) -> np.ndarray:
    customers = telco_bundle.read_table(layout.CUSTOMERS).to_pandas()
    return encode_rows(customers, telco_bundle.manifest["encoding"])


@pytest.fixture(scope="module")
def grouping(telco_bundle) -> np.ndarray:
    """(slots × features) 0/1 matrix: which feature each model input slot belongs to."""
    names = feature_names(telco_bundle.manifest)
    slots = telco_bundle.manifest["encoding"]
    matrix = np.zeros((len(slots), len(names)))
    for i, slot in enumerate(slots):
        matrix[i, names.index(slot["feature"])] = 1.0
    return matrix


def stored_shap(bundle, model: str) -> np.ndarray:
    names = feature_names(bundle.manifest)
    table = bundle.read_table(layout.shap_path(model), columns=names)
    return np.column_stack([table.column(n).to_numpy() for n in names])


def model_file(bundle, model: str, role: str):
    return bundle.path / bundle.manifest["models"][model]["files"][role]


def assert_same_per_feature(bundle, model: str, recomputed: np.ndarray, tolerance: float) -> None:
    stored = stored_shap(bundle, model)
    names = feature_names(bundle.manifest)
    errors = np.abs(stored - recomputed).max(axis=0)
    wrong = {n: float(e) for n, e in zip(names, errors, strict=True) if not e <= tolerance}
    assert not wrong, f"{model}: SHAP differs per feature: {wrong}"
    # The comparison can tell features apart: crediting one feature's share to another would fail.
    busiest = np.argsort(-np.abs(stored).mean(axis=0))[:2]
    swapped = stored.copy()
    swapped[:, busiest] = swapped[:, busiest[::-1]]
    assert np.abs(swapped - recomputed).max() > 100 * tolerance


def test_logistic_shap_is_weight_times_distance_from_the_mean(telco_bundle, encoded, grouping):
    linear = json.loads(model_file(telco_bundle, "logistic", "linear").read_text())
    weights, means = np.array(linear["coefficients"]), np.array(linear["feature_means"])
    per_slot = weights * (encoded - means)
    assert_same_per_feature(telco_bundle, "logistic", per_slot @ grouping, tolerance=1e-6)
    base = linear["intercept"] + weights @ means
    assert telco_bundle.manifest["models"]["logistic"]["shap"]["base_value"] == pytest.approx(base, abs=1e-9)


def test_xgboost_shap_matches_the_boosters_own_contributions(telco_bundle, encoded, grouping):
    booster = xgboost.Booster()
    booster.load_model(
        str(telco_bundle.file(telco_bundle.manifest["models"]["xgboost"]["runtime"]["files"]["model.ubj"]))
    )
    contributions = booster.predict(xgboost.DMatrix(encoded), pred_contribs=True)
    assert_same_per_feature(telco_bundle, "xgboost", contributions[:, :-1] @ grouping, tolerance=1e-4)
    assert telco_bundle.manifest["models"]["xgboost"]["shap"]["base_value"] == pytest.approx(
        float(contributions[0, -1]), abs=1e-4
    )


def test_sklearn_shap_matches_tree_shap_on_the_saved_model(telco_bundle, encoded, grouping):
    import skops.io

    path = telco_bundle.file(telco_bundle.manifest["models"]["sklearn"]["runtime"]["files"]["model.skops"])
    model = skops.io.loads(
        path.read_bytes(), trusted=["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]
    )
    explainer = shap.TreeExplainer(model)
    per_slot = np.asarray(explainer.shap_values(encoded, check_additivity=False), dtype=np.float64)
    assert_same_per_feature(telco_bundle, "sklearn", per_slot.reshape(len(encoded), -1) @ grouping, tolerance=1e-6)
    assert telco_bundle.manifest["models"]["sklearn"]["shap"]["base_value"] == pytest.approx(
        float(np.ravel(explainer.expected_value)[0]), abs=1e-6
    )


def test_gbt_shap_matches_tree_shap_on_the_saved_trees(telco_bundle, encoded, grouping):
    portable = json.loads(model_file(telco_bundle, "gbt", "trees").read_text())
    trees = [{k: np.array(v) for k, v in t.items()} for t in portable["trees"]]
    explainer = shap.TreeExplainer({"trees": trees, "base_offset": portable["base_offset"]})
    per_slot = explainer.shap_values(encoded, check_additivity=False) * portable["scale"]
    assert_same_per_feature(telco_bundle, "gbt", per_slot @ grouping, tolerance=1e-6)

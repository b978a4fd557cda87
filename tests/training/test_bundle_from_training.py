"""The bundle a real Spark training run publishes, checked from its files alone."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shap
import xgboost

from bundle import layout
from bundle.checks import bundle_problems, local_accuracy_error
from bundle.encoding import encode_rows
from bundle.manifest import feature_names
from tests.conftest import SAMPLE_ROWS


def margins(bundle, model):
    return bundle.read_table(layout.predictions_path(model)).column(layout.MARGIN_COLUMN).to_numpy()


@pytest.fixture(scope="module")
def encoded(telco_bundle):
    customers = telco_bundle.read_table(layout.CUSTOMERS).to_pandas()
    return encode_rows(customers, telco_bundle.manifest["encoding"])


def test_bundle_is_sound_and_complete(telco_bundle):
    manifest = telco_bundle.manifest
    assert bundle_problems(telco_bundle) == []
    assert set(manifest["models"]) == {"logistic", "gbt", "xgboost"}
    assert manifest["dataset"]["rows"] == SAMPLE_ROWS
    assert manifest["split"]["train_rows"] + manifest["split"]["test_rows"] == SAMPLE_ROWS
    assert len(manifest["features"]) == 19 and all(f["label"] for f in manifest["features"])
    stages = ("ingest", "validate", "split", "features", "train gbt", "score + SHAP", "evaluate")
    assert set(stages) <= set(manifest["timings"])
    assert manifest["timings"]["score + SHAP"] > 0 and manifest["timings"]["train gbt"] > 0  # measured, not defaulted
    assert {"pyspark", "xgboost", "shap", "python"} <= set(manifest["versions"])


@pytest.mark.parametrize("model", ["logistic", "gbt", "xgboost"])
def test_shap_is_locally_accurate_on_every_customer(telco_bundle, model):
    assert local_accuracy_error(telco_bundle, model) <= 1e-4
    values = telco_bundle.read_table(layout.shap_path(model)).to_pandas()
    assert values[feature_names(telco_bundle.manifest)].abs().to_numpy().sum() > 0


def test_xgboost_margins_are_the_saved_models_own(telco_bundle, encoded):
    booster = xgboost.Booster()
    booster.load_model(str(telco_bundle.path / telco_bundle.manifest["models"]["xgboost"]["files"]["xgboost"]))
    own = booster.predict(xgboost.DMatrix(encoded), output_margin=True)
    assert np.max(np.abs(own - margins(telco_bundle, "xgboost"))) < 1e-4


def test_logistic_margins_match_the_saved_coefficients(telco_bundle, encoded):
    linear = json.loads((telco_bundle.path / telco_bundle.manifest["models"]["logistic"]["files"]["linear"]).read_text())
    own = encoded @ np.array(linear["coefficients"]) + linear["intercept"]
    assert np.max(np.abs(own - margins(telco_bundle, "logistic"))) < 1e-6


def test_gbt_margins_match_the_saved_trees(telco_bundle, encoded):
    portable = json.loads((telco_bundle.path / telco_bundle.manifest["models"]["gbt"]["files"]["trees"]).read_text())
    trees = [{k: np.array(v) for k, v in t.items()} for t in portable["trees"]]
    explainer = shap.TreeExplainer({"trees": trees, "base_offset": portable["base_offset"]})
    own = explainer.model.predict(encoded) * portable["scale"]
    assert np.max(np.abs(own - margins(telco_bundle, "gbt"))) < 1e-6


def _roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Probability that a random churner outscores a random stayer (ties count half), by counting pairs."""
    positives, negatives = scores[labels == 1], scores[labels == 0]
    wins = (positives[:, None] > negatives[None, :]).sum() + 0.5 * (positives[:, None] == negatives[None, :]).sum()
    return float(wins / (len(positives) * len(negatives)))


def test_metrics_and_champion_agree_with_the_published_predictions(telco_bundle):
    """Recomputed from the bundle's own test-split predictions, not from the pipeline's numbers."""
    customers = telco_bundle.read_table(layout.CUSTOMERS, columns=[layout.LABEL_COLUMN, layout.SPLIT_COLUMN]).to_pandas()
    test = (customers[layout.SPLIT_COLUMN] == "test").to_numpy()
    labels = customers[layout.LABEL_COLUMN].to_numpy()[test]
    models = telco_bundle.manifest["models"]
    recomputed = {}
    for model, entry in models.items():
        probability = telco_bundle.read_table(layout.predictions_path(model)).column(layout.PROBABILITY_COLUMN).to_numpy()[test]
        recomputed[model] = _roc_auc(labels, probability)
        assert entry["metrics"]["roc_auc"] == pytest.approx(recomputed[model], abs=1e-9), model
        predicted = probability >= entry["threshold"]
        confusion = entry["metrics"]["confusion"]
        assert confusion == {
            "tp": int((predicted & (labels == 1)).sum()), "fp": int((predicted & (labels == 0)).sum()),
            "tn": int((~predicted & (labels == 0)).sum()), "fn": int((~predicted & (labels == 1)).sum()),
        }  # fmt: skip
        assert entry["metrics"]["brier"] == pytest.approx(float(np.mean((probability - labels) ** 2)), abs=1e-9)
        assert 0.7 < recomputed[model] <= 1.0  # Telco is learnable; a broken model scores near 0.5
    assert telco_bundle.manifest["champion"] == max(recomputed, key=recomputed.get)


def test_roc_curves_span_the_unit_square(telco_bundle):
    curves = telco_bundle.read_table(layout.CURVES).to_pandas()
    for _, roc in curves[curves.curve == "roc"].groupby("model"):
        assert (roc.x.iloc[0], roc.y.iloc[0]) == (0.0, 0.0)
        assert (roc.x.iloc[-1], roc.y.iloc[-1]) == (1.0, 1.0)
        assert roc.x.is_monotonic_increasing


def test_no_file_in_the_bundle_is_a_pickle(telco_bundle):
    for relpath in telco_bundle.manifest["files"]:
        head = (telco_bundle.path / relpath).read_bytes()[:2]
        assert not (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")), relpath
        assert not relpath.endswith((".pkl", ".pickle", ".joblib"))


def test_background_rows_come_from_training_customers(telco_bundle):
    background = telco_bundle.read_table(layout.BACKGROUND).to_pandas()
    customers = telco_bundle.read_table(layout.CUSTOMERS).to_pandas().set_index(layout.ID_COLUMN)
    assert len(background) == 500
    assert set(customers.loc[background[layout.ID_COLUMN], layout.SPLIT_COLUMN]) == {"train"}

"""The bundle a real Spark training run publishes, checked from its files alone."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shap
import xgboost

from bundle import layout
from bundle.checks import bundle_problems, local_accuracy_error, runtime_parity
from bundle.manifest import feature_names
from bundle.models import load_runtime
from bundle.reader import BundleError, open_bundle
from runtime.encoding import encode_rows
from tests.conftest import SAMPLE_ROWS
from training.champion import choose_champion


def margins(bundle, model):
    return bundle.read_table(layout.predictions_path(model)).column(layout.MARGIN_COLUMN).to_numpy()


@pytest.fixture(scope="module")
def encoded(telco_bundle):
    customers = telco_bundle.read_table(layout.CUSTOMERS).to_pandas()
    return encode_rows(customers, telco_bundle.manifest["encoding"])


def test_bundle_is_sound_and_complete(telco_bundle):
    manifest = telco_bundle.manifest
    assert bundle_problems(telco_bundle) == []
    assert set(manifest["models"]) == {"logistic", "gbt", "xgboost", "sklearn"}
    assert manifest["dataset"]["rows"] == SAMPLE_ROWS
    assert manifest["split"]["train_rows"] + manifest["split"]["test_rows"] == SAMPLE_ROWS
    assert len(manifest["features"]) == 19 and all(f["label"] for f in manifest["features"])
    stages = (
        "ingest",
        "validate",
        "split",
        "features",
        "train gbt",
        "train sklearn",
        "calibrate",
        "score + SHAP",
        "evaluate",
        "partial dependence",
        "permutation importance",
    )
    assert set(stages) <= set(manifest["timings"])
    assert manifest["timings"]["score + SHAP"] > 0 and manifest["timings"]["train gbt"] > 0  # measured, not defaulted
    assert {"pyspark", "xgboost", "shap", "python"} <= set(manifest["versions"])


@pytest.mark.parametrize("model", ["logistic", "gbt", "xgboost", "sklearn"])
def test_shap_is_locally_accurate_on_every_customer(telco_bundle, model):
    assert local_accuracy_error(telco_bundle, model) <= 1e-4
    values = telco_bundle.read_table(layout.shap_path(model)).to_pandas()
    assert values[feature_names(telco_bundle.manifest)].abs().to_numpy().sum() > 0


def test_xgboost_margins_are_the_saved_models_own(telco_bundle, encoded):
    """Independent of the runtime: XGBoost itself, on rows encoded from the raw table."""
    booster = xgboost.Booster()
    booster.load_model(
        str(telco_bundle.path / telco_bundle.manifest["models"]["xgboost"]["runtime"]["files"]["model.ubj"])
    )
    own = booster.predict(xgboost.DMatrix(encoded), output_margin=True)
    assert np.max(np.abs(own - margins(telco_bundle, "xgboost"))) < 1e-4


def test_logistic_margins_match_the_saved_coefficients(telco_bundle, encoded):
    linear = json.loads(
        (telco_bundle.path / telco_bundle.manifest["models"]["logistic"]["files"]["linear"]).read_text()
    )
    own = encoded @ np.array(linear["coefficients"]) + linear["intercept"]
    assert np.max(np.abs(own - margins(telco_bundle, "logistic"))) < 1e-6


def test_gbt_margins_match_the_saved_trees(telco_bundle, encoded):
    portable = json.loads((telco_bundle.path / telco_bundle.manifest["models"]["gbt"]["files"]["trees"]).read_text())
    trees = [{k: np.array(v) for k, v in t.items()} for t in portable["trees"]]
    explainer = shap.TreeExplainer({"trees": trees, "base_offset": portable["base_offset"]})
    own = explainer.model.predict(encoded) * portable["scale"]
    assert np.max(np.abs(own - margins(telco_bundle, "gbt"))) < 1e-6


@pytest.mark.parametrize("model", ["logistic", "gbt", "xgboost", "sklearn"])
def test_runtime_reproduces_spark_on_every_customer(telco_bundle, model):
    """The JVM-free runtime, fed only the raw customers table, gives Spark's stored
    log-odds and the batch stage's SHAP values for every customer."""
    positions = np.arange(telco_bundle.manifest["dataset"]["rows"])
    margin_error, shap_error = runtime_parity(telco_bundle, model, positions)
    assert margin_error <= 1e-6
    assert shap_error <= 1e-6


def test_runtime_explains_edited_rows_consistently(telco_bundle):
    """Rows training never saw (a what-if edit, an unseen category) still add up."""
    customers = telco_bundle.read_table(layout.CUSTOMERS).to_pandas().head(5)
    edited = customers.assign(
        tenure=[0.0, 1.0, 24.0, 72.0, None], contract=["Two year", "Month-to-month", "nonsense", None, "One year"]
    )
    for model in telco_bundle.manifest["models"]:
        runtime = load_runtime(telco_bundle, model)
        margin, values = runtime.explain(edited)
        assert values.shape == (5, len(runtime.features))
        assert np.max(np.abs(runtime.base_value + values.sum(axis=1) - margin)) < 1e-4
        assert np.all((runtime.probability(edited) > 0) & (runtime.probability(edited) < 1))
        assert not np.allclose(margin, runtime.margin(customers))  # the edits change the score


def test_publishing_refuses_a_runtime_that_disagrees_with_spark(telco_bundle, tmp_path):
    """Corrupt one stored coefficient (checksums redone): the parity invariant catches it."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(telco_bundle.path, copy)
    linear_file = copy / telco_bundle.manifest["models"]["logistic"]["runtime"]["files"]["linear.json"]
    linear = json.loads(linear_file.read_text())
    linear["coefficients"][0] += 0.01
    linear_file.write_text(json.dumps(linear))
    manifest = json.loads((copy / layout.MANIFEST).read_text())
    from bundle.reader import sha256_of

    rel = telco_bundle.manifest["models"]["logistic"]["runtime"]["files"]["linear.json"]
    manifest["files"][rel] = {"sha256": sha256_of(linear_file), "bytes": linear_file.stat().st_size}
    (copy / layout.MANIFEST).write_text(json.dumps(manifest))
    problems = bundle_problems(open_bundle(copy, name="copy", check_scores=False))
    assert any("JVM-free runtime misses the stored log-odds" in p and "logistic" in p for p in problems)
    # Opening it is refused too: the open-time sample of stored scores (bundle/score_sample.py).
    with pytest.raises(BundleError, match="model 'logistic': its stored probability of customer"):
        open_bundle(copy, name="copy")


def _roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Probability that a random churner outscores a random stayer (ties count half), by counting pairs."""
    positives, negatives = scores[labels == 1], scores[labels == 0]
    wins = (positives[:, None] > negatives[None, :]).sum() + 0.5 * (positives[:, None] == negatives[None, :]).sum()
    return float(wins / (len(positives) * len(negatives)))


def test_metrics_and_champion_agree_with_the_published_predictions(telco_bundle):
    """Recomputed from the bundle's own test-split predictions, not from the pipeline's numbers."""
    customers = telco_bundle.read_table(
        layout.CUSTOMERS, columns=[layout.LABEL_COLUMN, layout.SPLIT_COLUMN]
    ).to_pandas()
    test = (customers[layout.SPLIT_COLUMN] == "test").to_numpy()
    labels = customers[layout.LABEL_COLUMN].to_numpy()[test]
    models = telco_bundle.manifest["models"]
    recomputed = {}
    for model, entry in models.items():
        probability = (
            telco_bundle.read_table(layout.predictions_path(model)).column(layout.PROBABILITY_COLUMN).to_numpy()[test]
        )
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
    # Champion: best ROC AUC among models whose calibrated log loss is within 15 % of the best.
    log_loss = {m: entry["metrics"]["log_loss"] for m, entry in models.items()}
    qualified = {m: auc for m, auc in recomputed.items() if log_loss[m] <= 1.15 * min(log_loss.values())}
    assert telco_bundle.manifest["champion"] == max(qualified, key=qualified.__getitem__)
    champion, rule = choose_champion(
        {m: e["metrics"] for m, e in models.items()}, {m: e["display_name"] for m, e in models.items()}
    )
    assert (telco_bundle.manifest["champion"], telco_bundle.manifest["champion_rule"]) == (champion, rule)


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

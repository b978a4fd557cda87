"""Synthetic data with known drivers: deterministic, and the explanations recover the truth."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from bundle import layout
from runtime import sigmoid
from training.datasets import synthetic
from training.pipeline import RunConfig, run
from training.spark import one_row

CUSTOMERS = 3000
MODELS = {
    "logistic": {"maxIter": 100},
    "gbt": {"maxIter": 30},
    "xgboost": {"n_estimators": 120},
    "sklearn": {"max_iter": 60},
}


def test_generation_is_deterministic_for_a_seed_and_follows_the_documented_log_odds(spark):
    one = synthetic.generate(spark, 500, 7)
    two = synthetic.generate(spark, 500, 7).repartition(3)
    assert sorted(one.collect()) == sorted(two.collect())
    assert sorted(one.collect()) != sorted(synthetic.generate(spark, 500, 8).collect())
    big = synthetic.generate(spark, 20_000, 7).withColumn("z", synthetic.log_odds())
    stats = one_row(
        big.agg(
            F.avg((F.col("churned") == "yes").cast("double")).alias("rate"),
            F.avg(1 / (1 + F.exp(-F.col("z")))).alias("expected"),
            F.countDistinct("noise_region").alias("regions"),
        )
    )
    # Labels are drawn from sigmoid(z): the churn rate matches the mean true probability.
    assert abs(stats["rate"] - stats["expected"]) < 0.015
    assert stats["regions"] == 4


@pytest.fixture(scope="module")
def synthetic_bundle(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    return run(
        spark, synthetic.spec(CUSTOMERS, seed=3), RunConfig(artifacts=root, seed=3, model_params=MODELS, tuning="off")
    )


def test_true_drivers_rank_first_and_noise_last_for_every_model(synthetic_bundle):
    names = [f["name"] for f in synthetic_bundle.manifest["features"]]
    for model in synthetic_bundle.manifest["models"]:
        shap = pq.read_table(synthetic_bundle.file(layout.shap_path(model)), columns=names).to_pandas()
        ranking = shap.abs().mean().sort_values(ascending=False).index.tolist()
        assert set(ranking[: len(synthetic.DRIVERS)]) == set(synthetic.DRIVERS), (model, ranking)
        assert set(ranking[-len(synthetic.NOISE) :]) == set(synthetic.NOISE), (model, ranking)
        assert synthetic_bundle.manifest["models"][model]["metrics"]["roc_auc"] > 0.75


def test_every_model_is_calibrated_on_the_validation_slice_and_stores_calibrated_probabilities(synthetic_bundle):
    manifest = synthetic_bundle.manifest
    train_rows = manifest["split"]["train_rows"]
    for model, entry in manifest["models"].items():
        calibration = entry["calibration"]
        assert calibration["method"] == "platt", (model, calibration)
        assert calibration["slope"] > 0 and 0.1 * train_rows < calibration["rows"] < 0.3 * train_rows
        assert "validation customers" in calibration["fitted_on"] and "never the test split" in calibration["fitted_on"]
        predictions = synthetic_bundle.read_table(layout.predictions_path(model)).to_pandas()
        expected = sigmoid(calibration["slope"] * predictions[layout.MARGIN_COLUMN] + calibration["intercept"])
        np.testing.assert_allclose(predictions[layout.PROBABILITY_COLUMN], expected, rtol=0, atol=1e-12)
        # Platt never reorders customers, and on unseen test rows it does not make the probabilities worse.
        before, after = calibration["before"], entry["metrics"]
        assert after["log_loss"] <= before["log_loss"] + 0.01, (model, before, after)
        assert 0.0 <= after["ece"] <= 1.0 and 0.0 <= before["ece"] <= 1.0
        assert entry["parity"]["max_abs_probability"] <= 1e-6
    # The slice is held out of every final fit: HGB (fitted on the driver) says how many rows it saw.
    assert (
        manifest["models"]["sklearn"]["driver_training_rows"] + manifest["models"]["sklearn"]["calibration"]["rows"]
        == train_rows
    )
    champion = manifest["models"][manifest["champion"]]
    assert manifest["champion_rule"].startswith(champion["display_name"])
    assert "log loss" in manifest["champion_rule"]

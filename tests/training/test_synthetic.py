"""Synthetic data with known drivers: deterministic, and the explanations recover the truth."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from bundle import layout
from training.datasets import synthetic
from training.pipeline import RunConfig, run
from training.spark import one_row

CUSTOMERS = 3000
MODELS = {"logistic": {"maxIter": 100}, "gbt": {"maxIter": 30}, "xgboost": {"n_estimators": 120}}


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

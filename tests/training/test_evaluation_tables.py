"""Calibration, score distributions and permutation importance against known inputs
(no Spark: the computations are plain functions; the pipeline only calls them)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.calibration import calibration_curve

from runtime import build_kernel
from training import evaluate, importance


@pytest.fixture(scope="module")
def scores():
    rng = np.random.default_rng(7)
    probability = rng.beta(2, 5, size=3000)
    # Inner bin edges hit exactly, where off-by-one binning would show.
    probability[:10] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.0, 1.0, 0.7, 0.9]
    y = (rng.random(3000) < probability).astype(int)
    return y, probability


def test_calibration_bins_match_sklearn_calibration_curve(scores):
    y, probability = scores
    table = evaluate.calibration("m", y, probability)
    observed, predicted = calibration_curve(y, probability, n_bins=10, strategy="uniform")
    np.testing.assert_allclose(table["observed_rate"], observed, atol=1e-12)
    np.testing.assert_allclose(table["mean_predicted"], predicted, atol=1e-12)
    assert table["count"].sum() == len(y)
    assert (table["count"] > 0).all()
    assert ((table["mean_predicted"] >= table["lower"]) & (table["mean_predicted"] <= table["upper"])).all()


def test_calibration_omits_empty_bins():
    table = evaluate.calibration("m", np.array([0, 1, 1]), np.array([0.05, 0.95, 0.91]))
    assert table["bin"].tolist() == [0, 9]
    assert table["observed_rate"].tolist() == [0.0, 1.0]


def test_score_distribution_has_every_bin_per_class_and_counts_every_row(scores):
    y, probability = scores
    table = evaluate.score_distribution("m", y, probability)
    assert len(table) == 2 * evaluate.SCORE_BINS
    for label in (0, 1):
        part = table[table["label"] == label]
        assert part["count"].sum() == int((y == label).sum())
        expected, _ = np.histogram(probability[y == label], bins=np.linspace(0, 1, 21))
        assert part["count"].tolist() == expected.tolist()


def test_permutation_importance_ranks_a_feature_that_matters_above_noise():
    rng = np.random.default_rng(3)
    n = 2000
    rows = {"signal": rng.normal(size=n), "noise": rng.normal(size=n)}
    y = (rng.random(n) < 1 / (1 + np.exp(-2.5 * rows["signal"]))).astype(int)
    import pandas as pd

    frame = pd.DataFrame(rows)
    encoding = [
        {"feature": "signal", "kind": "numeric", "fill": 0.0},
        {"feature": "noise", "kind": "numeric", "fill": 0.0},
    ]
    linear = {"coefficients": [2.5, 0.0], "intercept": 0.0, "feature_means": [0.0, 0.0]}
    kernel = build_kernel("linear", {"linear.json": json.dumps(linear).encode()})
    table = importance.permutation_importance({"m": kernel}, frame, y, encoding, ["signal", "noise"], seed=1)
    by_feature = table.set_index("feature")
    assert by_feature.loc["signal", "mean_drop"] > 0.2
    # A feature the model ignores cannot change its scores at all.
    assert by_feature.loc["noise", "mean_drop"] == 0.0 and by_feature.loc["noise", "std_drop"] == 0.0
    assert (table["repeats"] == importance.REPEATS).all()
    assert by_feature.loc["signal", "std_drop"] > 0.0

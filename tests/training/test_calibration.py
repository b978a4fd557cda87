"""Platt scaling, expected calibration error and the champion rule, without Spark."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from runtime import Calibration, sigmoid
from training import evaluate, tuning
from training.calibration import calibrate, fit_platt
from training.champion import choose_champion


def _margins(seed: int, slope: float, intercept: float, n: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    margin = rng.normal(0.0, 2.0, size=n)
    y = (rng.random(n) < sigmoid(slope * margin + intercept)).astype(int)
    return margin, y


@pytest.mark.parametrize(("slope", "intercept"), [(0.3, -0.7), (1.0, 0.0), (2.5, 1.2), (0.05, -2.0)])
def test_platt_fit_equals_sklearns_unregularised_logistic_regression(slope, intercept):
    margin, y = _margins(int(slope * 100), slope, intercept)
    fit = fit_platt(margin, y)
    # C=inf is penalty=None (the `penalty` argument is deprecated from scikit-learn 1.8 on).
    reference = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(margin[:, None], y)
    assert fit.converged
    assert fit.slope == pytest.approx(reference.coef_[0, 0], abs=1e-6)
    assert fit.intercept == pytest.approx(reference.intercept_[0], abs=1e-6)


def test_calibrate_records_a_platt_map_that_recovers_a_known_distortion():
    margin, y = _margins(1, 0.5, -1.0, n=20_000)
    record = calibrate(margin, y)
    assert record["method"] == "platt" and record["rows"] == 20_000
    assert record["slope"] == pytest.approx(0.5, abs=0.05) and record["intercept"] == pytest.approx(-1.0, abs=0.05)
    assert "20,000 validation customers" in record["fitted_on"] and "never the test split" in record["fitted_on"]
    # The record is what the runtime reads.
    np.testing.assert_allclose(
        Calibration.from_manifest(record).probability(margin), sigmoid(record["slope"] * margin + record["intercept"])
    )


@pytest.mark.parametrize(
    ("margin", "y", "why"),
    [
        (np.linspace(-1, 1, 20), np.r_[np.zeros(10), np.ones(10)], "fewer than 50"),
        (np.linspace(-1, 1, 200), np.zeros(200), "all of one class"),
        (np.r_[-np.ones(100), np.ones(100)], np.r_[np.zeros(100), np.ones(100)], "did not converge"),  # separable
        (np.linspace(-2, 2, 400), (np.linspace(-2, 2, 400) < 0).astype(float), "did not converge"),
    ],
)
def test_calibrate_falls_back_to_the_identity_and_says_why(margin, y, why):
    record = calibrate(margin, y)
    assert (record["method"], record["slope"], record["intercept"], record["rows"]) == ("none", 1.0, 0.0, 0)
    assert why in record["fitted_on"]


def test_calibrate_refuses_a_reversing_slope():
    margin, y = _margins(3, -0.8, 0.0)
    record = calibrate(margin, y)
    assert record["method"] == "none" and "not positive" in record["fitted_on"]


def test_expected_calibration_error_by_hand():
    y = np.array([0, 0, 1, 1, 1, 0, 1, 0])
    p = np.array([0.05, 0.15, 0.15, 0.55, 0.58, 0.95, 0.99, 0.1])  # 0.1 sits on an edge: the lower bin
    # Bins: [0,0.1]: p 0.05, 0.1 (y 0, 0)     |0 - 0.075| × 2/8
    #       (0.1,0.2]: p 0.15, 0.15 (y 0, 1)  |0.5 - 0.15| × 2/8
    #       (0.5,0.6]: p 0.55, 0.58 (y 1, 1)  |1 - 0.565| × 2/8
    #       (0.9,1]: p 0.95, 0.99 (y 0, 1)    |0.5 - 0.97| × 2/8
    by_hand = (0.075 + 0.35 + 0.435 + 0.47) * 2 / 8
    assert evaluate.expected_calibration_error(y, p) == pytest.approx(by_hand, abs=1e-12)
    # The same as the reliability table's weighted mean gap.
    table = evaluate.calibration("m", y, p)
    weighted = np.sum(np.abs(table["observed_rate"] - table["mean_predicted"]) * table["count"]) / len(y)
    assert evaluate.expected_calibration_error(y, p) == pytest.approx(weighted, abs=1e-12)
    assert evaluate.evaluate(y, p)["ece"] == pytest.approx(by_hand)


def test_expected_calibration_error_is_zero_when_each_bin_is_right():
    y = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    p = np.array([0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75])
    assert evaluate.expected_calibration_error(y, p) == pytest.approx(0.0, abs=1e-15)


def test_uncalibrated_metrics_are_those_of_the_sigmoid_of_the_margin():
    margin, y = _margins(4, 1.0, 0.0, n=500)
    before = evaluate.uncalibrated_metrics(y, margin)
    direct = evaluate.evaluate(y, sigmoid(margin))
    assert before == {k: pytest.approx(direct[k]) for k in ("log_loss", "brier", "ece")}


NAMES = {"logistic": "Logistic regression", "gbt": "Spark GBT", "xgboost": "XGBoost", "sklearn": "HGB"}


def test_champion_is_the_best_roc_auc_among_models_within_15_percent_of_the_best_log_loss():
    metrics = {
        "logistic": {"roc_auc": 0.840, "log_loss": 0.420},
        "gbt": {"roc_auc": 0.849, "log_loss": 0.520},  # best ranking, but 26 % above the best log loss
        "xgboost": {"roc_auc": 0.846, "log_loss": 0.412},
        "sklearn": {"roc_auc": 0.845, "log_loss": 0.470},  # 14 % above: qualifies
    }
    champion, rule = choose_champion(metrics, NAMES)
    assert champion == "xgboost"
    assert rule.startswith("XGBoost: highest test ROC AUC (0.846) among models whose calibrated log loss is within")
    assert "15 % of the best (0.412)" in rule
    assert "Spark GBT's ROC AUC was higher (0.849) but its log loss 0.520 is 26 % above the best" in rule
    assert "Logistic regression 0.840" in rule and "HGB 0.845" in rule


def test_champion_falls_back_to_the_best_log_loss_when_nothing_else_qualifies():
    metrics = {"gbt": {"roc_auc": 0.90, "log_loss": 0.60}, "xgboost": {"roc_auc": 0.80, "log_loss": 0.30}}
    champion, rule = choose_champion(metrics, NAMES)
    assert champion == "xgboost" and "100 % above the best" in rule
    # Within the tolerance, ROC AUC decides (ties: the first model).
    close = {"gbt": {"roc_auc": 0.85, "log_loss": 0.33}, "xgboost": {"roc_auc": 0.85, "log_loss": 0.30}}
    assert choose_champion(close, NAMES)[0] == "gbt"
    only, sentence = choose_champion({"gbt": {"roc_auc": 0.8, "log_loss": 0.4}}, NAMES)
    assert only == "gbt" and "only model" in sentence


def test_best_index_handles_lower_is_better_explicitly():
    grid = [({"a": 1}, 0.30, 1.0), ({"a": 2}, 0.25, 1.0), ({"a": 3}, 0.25, 1.0), ({"a": 4}, 0.40, 1.0)]
    assert grid[tuning.best_index(grid, lower_is_better=True)][0] == {"a": 2}
    assert grid[tuning.best_index(grid)][0] == {"a": 4}
    record = tuning.record("m", "v", grid, {"a": 2}, metric="log_loss")
    assert record["metric"] == "log_loss" and record["grid"][0] == {"params": {"a": 1}, "score": 0.3, "seconds": 1.0}

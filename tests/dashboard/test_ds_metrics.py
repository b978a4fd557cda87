"""Validation-page metrics against scikit-learn's own functions, and the cohort grammar.

Known inputs: a seeded random sample with ties in the scores (ties are where
threshold bookkeeping usually goes wrong)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, confusion_matrix, f1_score, precision_score, recall_score

from analytics.cohort import CohortError, cohort_mask, cohort_text, parse_cohort
from dashboard.views.validation import (
    Costs,
    ThresholdError,
    at_threshold,
    best_threshold,
    brier_score,
    calibration_table,
    gains_table,
    parse_threshold,
    profit_curve,
    score_histogram,
    threshold_sweep,
)


@pytest.fixture(scope="module")
def scored() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    probability = np.round(rng.beta(2, 5, size=3000), 2)  # rounded: many tied scores
    labels = (rng.random(3000) < probability).astype(int)
    return labels, probability


@pytest.mark.parametrize("threshold", [0.0, 0.05, 0.2, 0.33, 0.5, 0.71, 0.99, 1.0])
def test_confusion_and_rates_match_sklearn(scored, threshold):
    labels, probability = scored
    predicted = (probability >= threshold).astype(int)
    point = at_threshold(threshold_sweep(labels, probability), threshold)
    tn, fp, fn, tp = confusion_matrix(labels, predicted, labels=[0, 1]).ravel()
    assert (point["tp"], point["fp"], point["tn"], point["fn"]) == (tp, fp, tn, fn)
    assert point["precision"] == pytest.approx(precision_score(labels, predicted, zero_division=0))
    assert point["recall"] == pytest.approx(recall_score(labels, predicted, zero_division=0))
    assert point["f1"] == pytest.approx(f1_score(labels, predicted, zero_division=0))
    assert point["flagged_share"] == pytest.approx(predicted.mean())


def test_brier_matches_sklearn(scored):
    labels, probability = scored
    assert brier_score(labels, probability) == pytest.approx(brier_score_loss(labels, probability))


def test_calibration_matches_sklearn(scored):
    labels, probability = scored
    table = calibration_table(labels, probability, bins=10)
    observed, predicted = calibration_curve(labels, probability, n_bins=10, strategy="uniform")
    np.testing.assert_allclose(table["observed_rate"], observed)
    np.testing.assert_allclose(table["mean_predicted"], predicted)
    assert table["count"].sum() == len(labels)


def test_gains_equal_recall_of_the_top_share(scored):
    labels, probability = scored
    gains = gains_table(labels, probability, points=20)
    order = np.argsort(-probability, kind="stable")
    for share, gain, lift in gains.itertuples(index=False):
        contacted = np.zeros(len(labels), dtype=int)
        contacted[order[: int(round(share * len(labels)))]] = 1
        assert gain == pytest.approx(recall_score(labels, contacted))
        assert lift == pytest.approx(gain / share)
    assert gains["gain"].iloc[-1] == pytest.approx(1.0)


def test_best_threshold_moves_with_costs(scored):
    labels, probability = scored
    sweep = threshold_sweep(labels, probability)
    cheap = best_threshold(profit_curve(sweep, Costs(offer_cost=1, saved_value=100, success_rate=0.5)))
    dear = best_threshold(profit_curve(sweep, Costs(offer_cost=30, saved_value=100, success_rate=0.5)))
    assert cheap["threshold"] < dear["threshold"]
    # Brute force over every candidate threshold agrees with the cumulative-sum sweep.
    costs = Costs(offer_cost=30, saved_value=100, success_rate=0.5)
    per_churner = costs.success_rate * costs.saved_value
    brute = {
        t: ((probability >= t) & (labels == 1)).sum() * per_churner - (probability >= t).sum() * costs.offer_cost
        for t in np.unique(probability)
    }
    assert dear["profit"] == pytest.approx(max(brute.values()))


def test_score_histogram_counts_every_customer(scored):
    labels, probability = scored
    hist = score_histogram(labels, probability)
    assert hist.groupby("label")["count"].sum().to_dict() == {0: int((labels == 0).sum()), 1: int(labels.sum())}
    expected, _ = np.histogram(probability[labels == 1], bins=np.linspace(0, 1, 21))
    np.testing.assert_array_equal(hist[hist["label"] == 1]["count"], expected)


@pytest.mark.parametrize("raw", ["abc", "-0.1", "1.5", "nan", "inf", "", "9" * 100])
def test_bad_thresholds_are_refused(raw):
    with pytest.raises(ThresholdError):
        parse_threshold(raw)


FEATURES: list[Mapping] = [
    {
        "name": "contract",
        "type": "categorical",
        "label": "Contract",
        "categories": ["Month-to-month", "One year", "Two year"],
    },
    {"name": "tenure", "type": "numeric", "label": "Tenure"},
    {"name": "senior", "type": "binary", "label": "Senior"},
]


def test_cohort_grammar_filters_rows():
    frame = pd.DataFrame(
        {
            "contract": ["Month-to-month", "One year", "Month-to-month", None],
            "tenure": [3.0, 5.0, 40.0, 2.0],
            "senior": [1, 0, 0, 1],
        }
    )
    conditions = parse_cohort("contract:month-to-month; tenure<12", FEATURES)
    assert cohort_mask(frame, conditions).tolist() == [True, False, False, False]
    assert cohort_text(conditions) == "contract:Month-to-month;tenure<12"
    assert parse_cohort(cohort_text(conditions), FEATURES) == conditions
    assert cohort_mask(frame, parse_cohort("senior:yes;tenure>=2", FEATURES)).tolist() == [True, False, False, True]
    assert cohort_mask(frame, parse_cohort("contract!=One year", FEATURES)).tolist() == [True, False, True, False]
    assert parse_cohort("", FEATURES) == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("contract=Month", "not a condition"),
        ("plan:gold", "no feature 'plan'"),
        ("contract:Weekly", "no category 'Weekly'"),
        ("contract<3", "not numeric"),
        ("tenure<soon", "not a number"),
        ("senior:maybe", "Yes or No"),
        ("tenure<1;" * 9, "at most 8"),
        ("x" * 500, "at most 400"),
        ("<script>:1", "not a condition"),
    ],
)
def test_malformed_cohorts_explain_themselves(raw, message):
    with pytest.raises(CohortError, match=message):
        parse_cohort(raw, FEATURES)

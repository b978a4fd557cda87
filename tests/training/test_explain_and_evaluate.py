"""Runtime kernels and metrics on small hand-checkable arrays (no Spark needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xgboost

from runtime import build_kernel
from training import evaluate


def test_linear_shap_is_exact_and_centred_on_the_mean():
    linear = {"coefficients": [2.0, -1.0], "intercept": 0.5, "feature_means": [1.0, 3.0]}
    kernel = build_kernel("linear", {"linear.json": json.dumps(linear).encode()})
    x = np.array([[1.0, 3.0], [2.0, 0.0]])
    phi, base = kernel.contributions(x)
    assert np.allclose(phi, [[0.0, 0.0], [2.0, 3.0]])
    assert np.allclose(base, 0.5 + 2.0 - 3.0)
    assert np.allclose(kernel.margin(x), [0.5 + 2.0 - 3.0, 0.5 + 4.0])


def test_xgboost_shap_sums_to_the_boosters_margin():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] * x[:, 2] > 0).astype(int)
    booster = xgboost.train({"max_depth": 3, "objective": "binary:logistic"}, xgboost.DMatrix(x, label=y), 20)
    kernel = build_kernel("xgboost", {"model.ubj": bytes(booster.save_raw("ubj"))})
    phi, base = kernel.contributions(x)
    margin = booster.predict(xgboost.DMatrix(x), output_margin=True)
    assert np.max(np.abs(base + phi.sum(axis=1) - margin)) < 1e-5
    assert np.max(np.abs(kernel.margin(x) - margin)) < 1e-6
    assert np.ptp(base) == 0


def test_grouped_shap_keeps_the_sum():
    phi = np.array([[0.1, 0.2, -0.3], [1.0, 0.0, 0.5]])
    grouping = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])  # slots 1 and 2 are one feature
    grouped = phi @ grouping
    assert np.allclose(grouped, [[0.1, -0.1], [1.0, 0.5]])
    assert np.allclose(grouped.sum(axis=1), phi.sum(axis=1))


def test_metrics_at_the_threshold():
    y = np.array([0, 0, 1, 1, 1, 0])
    p = np.array([0.1, 0.6, 0.7, 0.4, 0.9, 0.2])
    metrics = evaluate.evaluate(y, p, threshold=0.5)
    assert metrics["confusion"] == {"tn": 2, "fp": 1, "fn": 1, "tp": 2}
    assert metrics["precision"] == pytest.approx(2 / 3) and metrics["recall"] == pytest.approx(2 / 3)
    assert metrics["accuracy"] == pytest.approx(4 / 6)
    assert metrics["roc_auc"] == pytest.approx(8 / 9)  # 8 of 9 positive/negative pairs ordered right
    assert metrics["brier"] == pytest.approx(np.mean((p - y) ** 2))


def test_curves_are_thinned_but_keep_their_ends():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 5000)
    p = np.clip(y * 0.3 + rng.random(5000) * 0.7, 0, 1)
    curves = evaluate.curves("m", y, p)
    for kind in ("roc", "pr"):
        part = curves[curves.curve == kind]
        assert 2 < len(part) <= evaluate.MAX_CURVE_POINTS
    roc = curves[curves.curve == "roc"]
    assert (roc.x.iloc[0], roc.y.iloc[0], roc.x.iloc[-1], roc.y.iloc[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert roc.threshold.max() <= 1.0


def test_slot_matrix_reads_list_columns_row_by_row_including_sliced_and_chunked_ones():
    import pyarrow as pa

    from training.explain import slot_matrix

    rows = pa.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]], pa.list_(pa.float64()))
    assert slot_matrix(rows, 3).tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    # A sliced batch starts at an offset into the shared values buffer.
    assert slot_matrix(rows.slice(1, 2), 3).tolist() == [[4, 5, 6], [7, 8, 9]]
    assert slot_matrix(pa.chunked_array([rows.slice(0, 1), rows.slice(2, 1)]), 3).tolist() == [[1, 2, 3], [7, 8, 9]]
    with pytest.raises(ValueError, match="expected 2 slots per row"):
        slot_matrix(rows, 2)

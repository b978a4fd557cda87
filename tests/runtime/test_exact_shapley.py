"""The runtime's SHAP equals exact Shapley values computed independently, for every runtime kind.

Additivity (base + ΣSHAP = margin) and batch/live parity both hold even when
credit goes to the wrong feature or the covers that path-dependent TreeSHAP
weighs by are wrong (margins never read covers). Here each model's trees are
rebuilt from its library's own description (tests/runtime/exact_shapley.py),
covers are recounted from the rows the model was fitted on (training minus the
validation slice), and Shapley values come from
enumerating every subset of the six input slots; the runtime must agree to 1e-6.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

from runtime import build_kernel, encode_rows, sigmoid
from tests.runtime import exact_shapley as ref
from tests.runtime.conftest import ENCODING, Training, raw_customers
from training.models import FittedModel

TOLERANCE = 1e-6


@dataclass(frozen=True)
class Reference:
    trees: list[ref.Tree]  # parsed from the library's own description of the model
    offset: float  # log-odds before any tree
    library_margin: np.ndarray  # the library's own margins for `rows`
    exported: list[ref.Tree]  # the trees as the runtime reads them (with the covers it weighs by)
    cover_weights: str  # "rows" (each training row counts 1) or "hessians" (XGBoost)


@pytest.fixture(scope="module")
def rows(training: Training) -> np.ndarray:
    """Training rows and unseen customers (their values fall between the training ones)."""
    return np.vstack([training.x[:4], encode_rows(raw_customers(4, seed=99), ENCODING)])


def gbt_reference(fitted: FittedModel, rows: np.ndarray) -> Reference:
    from pyspark.ml.classification import GBTClassificationModel
    from pyspark.ml.linalg import Vectors

    model = fitted.reference.transformer
    assert isinstance(model, GBTClassificationModel)
    # Spark's GBT reports half the log-odds (rawPrediction = [-m, m], P = σ(2m)).
    trees = ref.trees_from_spark_debug_string(model.toDebugString, list(model.treeWeights), scale=2.0)
    spark_margin = np.array([2.0 * model.predictRaw(Vectors.dense(r.tolist())).toArray()[1] for r in rows])
    exported = ref.trees_from_shap_arrays(json.loads(fitted.portable["trees.json"]))
    return Reference(trees, 0.0, spark_margin, exported, "rows")


def xgboost_reference(fitted: FittedModel, rows: np.ndarray) -> Reference:
    import xgboost

    booster = xgboost.Booster()
    booster.load_model(bytearray(fitted.portable["model.ubj"]))
    trees, offset = ref.trees_from_xgboost_json(json.loads(bytes(booster.save_raw("json"))))
    margin = booster.predict(xgboost.DMatrix(rows), output_margin=True).astype(np.float64)
    # XGBoost's covers are stored in the same model file: the recount checks them.
    return Reference(trees, offset, margin, trees, "hessians")


def sklearn_reference(fitted: FittedModel, rows: np.ndarray) -> Reference:
    import skops.io

    model = skops.io.loads(
        fitted.portable["model.skops"],
        trusted=["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"],
    )
    # Private scikit-learn structures (no public API exposes the fitted trees): a rename fails loudly.
    assert hasattr(model, "_predictors") and hasattr(model, "_baseline_prediction"), "scikit-learn HGB internals moved"
    assert all(len(per_iteration) == 1 for per_iteration in model._predictors), "binary HGB has one tree per iteration"
    trees = ref.trees_from_hgb_nodes([per_iteration[0].nodes for per_iteration in model._predictors])
    offset = float(np.ravel(model._baseline_prediction)[0])
    return Reference(trees, offset, model.decision_function(rows).astype(np.float64), trees, "rows")


REFERENCES = {"gbt": gbt_reference, "xgboost": xgboost_reference, "sklearn": sklearn_reference}


def recount(reference: Reference, x: np.ndarray) -> list[np.ndarray]:
    """Each tree's covers from the training rows; XGBoost's are Σ p(1-p) at the time the tree was grown."""
    covers = []
    for t, tree in enumerate(reference.trees):
        weights = None
        if reference.cover_weights == "hessians":
            p = sigmoid(ref.predict(reference.trees[:t], x, reference.offset))
            weights = p * (1.0 - p)
        covers.append(ref.recount_covers(tree, x, weights))
    return covers


def assert_covers_match(reference: Reference, recounted: list[np.ndarray], rtol: float) -> None:
    """The covers the runtime reads equal the covers recounted from the training rows, node by node."""
    assert len(reference.exported) == len(reference.trees)
    wrong = []
    for t, (mine, exported) in enumerate(zip(reference.trees, reference.exported, strict=True)):
        for i, j in ref.pairs(mine, exported):
            if not np.isclose(exported.cover[j], recounted[t][i], rtol=rtol, atol=0.0):
                wrong.append(f"tree {t} node {j}: exported {exported.cover[j]:.6g}, recounted {recounted[t][i]:.6g}")
    assert not wrong, "covers differ from the training rows: " + "; ".join(wrong[:8])


def shapley_of(reference: Reference, covers: list[np.ndarray], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pairs = [ref.exact_shapley(reference.trees, covers, row, reference.offset) for row in rows]
    return np.array([phi for phi, _ in pairs]), np.array([base for _, base in pairs])


def test_linear_shap_is_weight_times_distance_from_the_training_mean(fit, fitted_on, rows):
    from pyspark.ml.classification import LogisticRegressionModel
    from pyspark.ml.linalg import Vectors

    fitted = fit("logistic")
    model = fitted.reference.transformer
    assert isinstance(model, LogisticRegressionModel)
    weights, intercept = model.coefficients.toArray(), float(model.intercept)
    mean = fitted_on.mean(axis=0)
    kernel = build_kernel(fitted.runtime, fitted.portable)
    phi, base = kernel.contributions(rows)
    np.testing.assert_allclose(phi, weights * (rows - mean), rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(base, intercept + weights @ mean, rtol=0, atol=TOLERANCE)
    spark_margin = np.array([model.predictRaw(Vectors.dense(r.tolist())).toArray()[1] for r in rows])
    np.testing.assert_allclose(kernel.margin(rows), spark_margin, rtol=0, atol=TOLERANCE)
    # The check can tell slots apart: every slot carries credit on some row.
    assert (np.abs(phi).max(axis=0) > 100 * TOLERANCE).all()


@pytest.mark.parametrize("family", sorted(REFERENCES))
def test_tree_shap_equals_exact_shapley_over_recounted_covers(family, fit, fitted_on, rows):
    fitted = fit(family)
    reference = REFERENCES[family](fitted, rows)
    # The reference reads the model as its library does (else everything below is moot).
    np.testing.assert_allclose(
        ref.predict(reference.trees, rows, reference.offset), reference.library_margin, atol=1e-5
    )
    kernel = build_kernel(fitted.runtime, fitted.portable)
    np.testing.assert_allclose(kernel.margin(rows), reference.library_margin, atol=1e-5)

    covers = recount(reference, fitted_on)
    assert_covers_match(reference, covers, rtol=1e-5 if reference.cover_weights == "hessians" else 1e-12)

    expected, expected_base = shapley_of(reference, covers, rows)
    phi, base = kernel.contributions(rows)
    np.testing.assert_allclose(phi, expected, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(base, expected_base, rtol=0, atol=TOLERANCE)
    # Not vacuous: several slots get credit, so a slot mix-up would show.
    assert (np.abs(expected).max(axis=0) > 1e-3).sum() >= 3


def wrong_cover_export(portable: bytes) -> bytes:
    """trees.json with the first tree's leaf covers tripled (internal nodes untouched)."""
    spec = json.loads(portable)
    tree = spec["trees"][0]
    tree["node_sample_weight"] = [
        w * 3 if left < 0 else w for w, left in zip(tree["node_sample_weight"], tree["children_left"], strict=True)
    ]
    return json.dumps(spec).encode()


def test_a_wrong_cover_export_is_caught(fit, fitted_on, rows):
    fitted = fit("gbt")
    broken = {"trees.json": wrong_cover_export(fitted.portable["trees.json"])}
    reference = gbt_reference(fitted, rows)
    reference = Reference(
        reference.trees,
        0.0,
        reference.library_margin,
        ref.trees_from_shap_arrays(json.loads(broken["trees.json"])),
        "rows",
    )
    covers = recount(reference, fitted_on)
    with pytest.raises(AssertionError, match="covers differ from the training rows"):
        assert_covers_match(reference, covers, rtol=1e-12)
    kernel = build_kernel("tree", broken)
    # Margins never read covers: the bundle's parity check cannot see this.
    np.testing.assert_allclose(kernel.margin(rows), reference.library_margin, atol=1e-5)
    expected, _ = shapley_of(reference, covers, rows)
    phi, _ = kernel.contributions(rows)
    assert np.abs(phi - expected).max() > 1e-3

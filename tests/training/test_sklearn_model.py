"""The scikit-learn model: skops with an explicit trusted-type list, scored on Spark
through the runtime exactly as scikit-learn scores it on the driver."""

from __future__ import annotations

import numpy as np
import pytest
import skops.io
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from bundle import layout
from runtime import ModelFileError, build_kernel
from runtime.encoding import encode_rows
from runtime.sklearn_hgb import load_sklearn_hgb


class Smuggled:
    """A type no trusted list names: a stand-in for anything a crafted file could carry."""

    def __init__(self) -> None:
        self.payload = "not a model"


@pytest.fixture(scope="module")
def small_model() -> HistGradientBoostingClassifier:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    y = (x[:, 0] + 0.3 * rng.normal(size=300) > 0).astype(int)
    return HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(x, y)


def test_skops_loading_accepts_the_model_it_saved(small_model):
    loaded = load_sklearn_hgb(skops.io.dumps(small_model))
    x = np.random.default_rng(1).normal(size=(20, 4))
    np.testing.assert_array_equal(loaded.decision_function(x), small_model.decision_function(x))


def test_skops_loading_refuses_a_file_with_an_untrusted_type(small_model):
    small_model.smuggled_ = Smuggled()
    try:
        content = skops.io.dumps(small_model)
    finally:
        del small_model.smuggled_
    assert any("Smuggled" in t for t in skops.io.get_untrusted_types(data=content))
    with pytest.raises(ModelFileError, match="not trusted.*Smuggled"):
        load_sklearn_hgb(content)
    # The runtime's loader turns it into the same readable refusal.
    with pytest.raises(ModelFileError, match="Smuggled"):
        build_kernel("sklearn_hgb", {"model.skops": content})


def test_skops_loading_refuses_another_estimator():
    other = LogisticRegression().fit(np.array([[0.0], [1.0]]), [0, 1])
    with pytest.raises(ModelFileError, match="not a HistGradientBoostingClassifier"):
        load_sklearn_hgb(skops.io.dumps(other))


def test_bundle_margins_equal_sklearns_own_decision_function(telco_bundle):
    manifest = telco_bundle.manifest
    entry = manifest["models"]["sklearn"]
    assert entry["runtime"]["kind"] == "sklearn_hgb"
    model = load_sklearn_hgb(telco_bundle.file(entry["runtime"]["files"]["model.skops"]).read_bytes())
    names = [f["name"] for f in manifest["features"]]
    customers = telco_bundle.read_table(layout.CUSTOMERS, columns=names).to_pandas()
    stored = telco_bundle.read_table(layout.predictions_path("sklearn")).column(layout.MARGIN_COLUMN).to_numpy()
    np.testing.assert_allclose(
        stored, model.decision_function(encode_rows(customers, manifest["encoding"])), rtol=0, atol=1e-9
    )


def test_sklearn_model_takes_part_in_the_comparison(telco_bundle):
    models = telco_bundle.manifest["models"]
    assert "sklearn" in models
    assert 0.5 < models["sklearn"]["metrics"]["roc_auc"] <= 1.0
    assert models["sklearn"]["display_name"] == "Histogram gradient boosting (scikit-learn)"
    # Spark ran it: every customer has a prediction and SHAP values.
    assert telco_bundle.read_table(layout.shap_path("sklearn")).num_rows == telco_bundle.manifest["dataset"]["rows"]

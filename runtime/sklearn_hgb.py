"""Runtime kind "sklearn_hgb": scikit-learn's HistGradientBoostingClassifier (`model.skops`).

The file is read with skops, which reconstructs objects without unpickling and
refuses every type that is neither one of its defaults nor listed in
`SKLEARN_TRUSTED_TYPES` (never `trusted=True`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from runtime.errors import ModelFileError
from runtime.kernels import register, required
from runtime.threads import one_thread
from runtime.xgboost_import import import_shap_without_pyspark

# The only types a scikit-learn model file may hold beyond skops' defaults
# (scikit-learn estimators, NumPy/SciPy containers, builtins).
SKLEARN_TRUSTED_TYPES = ("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",)


def load_sklearn_hgb(content: bytes) -> Any:
    """A `HistGradientBoostingClassifier` from skops bytes, or `ModelFileError`.

    The loaded object must be the classifier itself, not some other (trusted) estimator."""
    import skops.io
    from sklearn.ensemble import HistGradientBoostingClassifier

    untrusted = sorted(set(skops.io.get_untrusted_types(data=content)) - set(SKLEARN_TRUSTED_TYPES))
    if untrusted:
        raise ModelFileError(f"model.skops holds types that are not trusted: {', '.join(untrusted)}")
    model = skops.io.loads(content, trusted=list(SKLEARN_TRUSTED_TYPES))
    if type(model) is not HistGradientBoostingClassifier:
        raise ModelFileError(f"model.skops holds a {type(model).__name__}, not a HistGradientBoostingClassifier")
    if list(model.classes_) != [0, 1]:
        raise ModelFileError("model.skops is not a binary classifier of labels 0 and 1")
    return model


@register("sklearn_hgb")
class SklearnHGBKernel:
    """margin = decision_function (log-odds); SHAP = shap's exact path-dependent TreeSHAP."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        shap = import_shap_without_pyspark()

        self.model = load_sklearn_hgb(required(files, "model.skops"))
        self.explainer = shap.TreeExplainer(self.model)
        self.base = float(np.ravel(self.explainer.expected_value)[0])
        self.input_width: int | None = int(self.model.n_features_in_)

    def margin(self, x: np.ndarray) -> np.ndarray:
        # One OpenMP thread, for the same reason as XGBoost's nthread=1: a Spark
        # task per core, and single dashboard rows are far slower multi-threaded.
        with one_thread("openmp"):
            return np.asarray(self.model.decision_function(x), dtype=np.float64)

    def contributions(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = np.asarray(self.explainer.shap_values(x, check_additivity=False), dtype=np.float64)
        return values.reshape(len(x), -1), np.full(len(x), self.base)

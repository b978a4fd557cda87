"""JVM-free scoring and exact SHAP for every model in a bundle: the one place models run.

Training's Spark workers (`training/explain.py`, inside `mapInPandas`) and the
dashboard (what-if, ICE, LIME, retention levers) both call this module on the
same portable model files, so batch and live explanations cannot drift apart.

A *runtime kind* says how to turn a model's portable files into a kernel with
two methods on encoded input slots (see `runtime/encoding.py`):

- `margin(x)`: the model's log-odds for each row;
- `contributions(x)`: per-slot SHAP values in log-odds and each row's base value
  (base + sum of the row's values = its margin).

Kinds register themselves in `KINDS`; a new model family whose portable form
fits an existing kind (e.g. any tree ensemble shap can parse → "tree") needs no
change here, and a genuinely new form is one more registered function.
Portable files are JSON or the library's own safe format (XGBoost UBJSON,
scikit-learn via skops with an explicit trusted-type list); nothing here
unpickles anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from bundle.manifest import feature_names
from bundle.reader import Bundle, BundleError
from runtime.encoding import encode_rows, grouping_matrix


class Kernel(Protocol):
    def margin(self, x: np.ndarray) -> np.ndarray: ...

    def contributions(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


KINDS: dict[str, Callable[[Mapping[str, bytes]], Kernel]] = {}


def register(kind: str) -> Callable:
    def add(factory: Callable[[Mapping[str, bytes]], Kernel]) -> Callable:
        KINDS[kind] = factory
        return factory

    return add


def build_kernel(kind: str, files: Mapping[str, bytes]) -> Kernel:
    """A kernel from a model's portable files ({file name: bytes})."""
    if kind not in KINDS:
        raise BundleError(f"Unknown model runtime kind {kind!r}; known kinds: {', '.join(sorted(KINDS))}.")
    try:
        return KINDS[kind](files)
    except BundleError:
        raise
    except Exception as exc:  # a malformed model file must become a readable refusal
        raise BundleError(f"The {kind} model files cannot be loaded: {type(exc).__name__}: {exc}") from exc


def _json(files: Mapping[str, bytes], name: str) -> dict:
    if name not in files:
        raise BundleError(f"model file {name} is missing")
    return json.loads(files[name].decode("utf-8"))


class _Linear:
    """Logistic regression: margin = b + w·x; exact SHAP w_j (x_j - E[x_j])."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        spec = _json(files, "linear.json")
        self.coef = np.asarray(spec["coefficients"], dtype=np.float64)
        self.intercept = float(spec["intercept"])
        self.mean = np.asarray(spec["feature_means"], dtype=np.float64)
        self.base = self.intercept + float(self.coef @ self.mean)

    def margin(self, x: np.ndarray) -> np.ndarray:
        return x @ self.coef + self.intercept

    def contributions(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (x - self.mean) * self.coef, np.full(len(x), self.base)


class _Trees:
    """Any tree ensemble in shap's array form (trees.json): path-dependent TreeSHAP.

    `scale` turns the ensemble's raw output into log-odds (Spark's GBT reports
    half the log-odds, so its scale is 2).
    """

    def __init__(self, files: Mapping[str, bytes]) -> None:
        import shap  # heavy; only models that need it pay for it

        spec = _json(files, "trees.json")
        trees = [{key: np.asarray(value) for key, value in tree.items()} for tree in spec["trees"]]
        self.scale = float(spec.get("scale", 1.0))
        self.explainer = shap.TreeExplainer({"trees": trees, "base_offset": float(spec["base_offset"])})
        self.base = float(np.ravel(self.explainer.expected_value)[0]) * self.scale

    def margin(self, x: np.ndarray) -> np.ndarray:
        return self.explainer.model.predict(x) * self.scale

    def contributions(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = self.explainer.shap_values(x, check_additivity=False) * self.scale
        return values, np.full(len(x), self.base)


class _XGBoost:
    """An XGBoost booster (model.ubj); SHAP from XGBoost's own exact TreeSHAP."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        import xgboost

        if "model.ubj" not in files:
            raise BundleError("model file model.ubj is missing")
        self._xgboost = xgboost
        self.booster = xgboost.Booster()
        self.booster.load_model(bytearray(files["model.ubj"]))
        # One thread: a Spark task per core needs no more, and a single row runs
        # ~100x faster on one thread (0.15 ms) than on two (~20 ms) on this machine.
        self.booster.set_param({"nthread": 1})

    def _matrix(self, x: np.ndarray):
        return self._xgboost.DMatrix(x, nthread=1)

    def margin(self, x: np.ndarray) -> np.ndarray:
        return self.booster.predict(self._matrix(x), output_margin=True).astype(np.float64)

    def contributions(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        contribs = self.booster.predict(self._matrix(x), pred_contribs=True).astype(np.float64)
        return contribs[:, :-1], contribs[:, -1]


# The only types a scikit-learn model file may hold beyond skops' defaults
# (scikit-learn estimators, NumPy/SciPy containers, builtins). Listed by name,
# never `trusted=True`: a file naming any other type is refused before loading.
SKLEARN_TRUSTED_TYPES = ("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",)


def load_sklearn_hgb(content: bytes):
    """A `HistGradientBoostingClassifier` from skops bytes, or `BundleError`.

    skops reconstructs objects without unpickling; it still refuses types that
    are neither its defaults nor in `SKLEARN_TRUSTED_TYPES`, and the loaded
    object must be the classifier itself, not some other (trusted) estimator.
    """
    import skops.io
    from sklearn.ensemble import HistGradientBoostingClassifier

    untrusted = sorted(set(skops.io.get_untrusted_types(data=content)) - set(SKLEARN_TRUSTED_TYPES))
    if untrusted:
        raise BundleError(f"model.skops holds types that are not trusted: {', '.join(untrusted)}")
    model = skops.io.loads(content, trusted=list(SKLEARN_TRUSTED_TYPES))
    if type(model) is not HistGradientBoostingClassifier:
        raise BundleError(f"model.skops holds a {type(model).__name__}, not a HistGradientBoostingClassifier")
    if list(model.classes_) != [0, 1]:
        raise BundleError("model.skops is not a binary classifier of labels 0 and 1")
    return model


_THREADPOOLS = None


def one_thread(user_api: str | None = None):
    """Context manager: native thread pools (OpenMP, BLAS, or all when None) at one thread.

    The loaded libraries are found once per process: `threadpool_limits()` scans them on
    every call, which cost ~28 ms each, more than a what-if rescore itself."""
    global _THREADPOOLS
    from threadpoolctl import ThreadpoolController

    if _THREADPOOLS is None:
        _THREADPOOLS = ThreadpoolController()
    return _THREADPOOLS.limit(limits=1, user_api=user_api)


class _SklearnHGB:
    """scikit-learn HistGradientBoostingClassifier (model.skops): margin =
    decision_function (log-odds), SHAP = shap's exact path-dependent TreeSHAP."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        import shap

        if "model.skops" not in files:
            raise BundleError("model file model.skops is missing")
        self.model = load_sklearn_hgb(files["model.skops"])
        self.explainer = shap.TreeExplainer(self.model)
        self.base = float(np.ravel(self.explainer.expected_value)[0])
        # One OpenMP thread, for the same reason as XGBoost's nthread=1: a Spark
        # task per core, and single dashboard rows are far slower multi-threaded.

    def margin(self, x: np.ndarray) -> np.ndarray:
        with one_thread("openmp"):
            return self.model.decision_function(x).astype(np.float64)

    def contributions(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = np.asarray(self.explainer.shap_values(x, check_additivity=False), dtype=np.float64)
        return values.reshape(len(x), -1), np.full(len(x), self.base)


register("linear")(_Linear)
register("tree")(_Trees)
register("xgboost")(_XGBoost)
register("sklearn_hgb")(_SklearnHGB)


def sigmoid(margin: np.ndarray | float) -> np.ndarray:
    """Numerically safe logistic function (no overflow for large |margin|)."""
    m = np.asarray(margin, dtype=np.float64)
    out = np.empty_like(m)
    positive = m >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-m[positive]))
    z = np.exp(m[~positive])
    out[~positive] = z / (1.0 + z)
    return out


@dataclass(frozen=True)
class ModelRuntime:
    """One bundle model, runnable on raw feature rows (what the customers table holds).

    Shared read-only by every dashboard session: nothing here mutates state
    after construction.
    """

    model: str
    kind: str
    kernel: Kernel = field(repr=False)
    encoding: list[dict] = field(repr=False)
    features: list[str]
    grouping: np.ndarray = field(repr=False)  # (slots x features) 0/1
    base_value: float  # log-odds every explanation starts from

    def encode(self, rows: pd.DataFrame) -> np.ndarray:
        return encode_rows(rows, self.encoding)

    def margin(self, rows: pd.DataFrame) -> np.ndarray:
        """Log-odds of churning for each raw row."""
        return self.kernel.margin(self.encode(rows))

    def probability(self, rows: pd.DataFrame) -> np.ndarray:
        return sigmoid(self.margin(rows))

    def shap(self, rows: pd.DataFrame) -> np.ndarray:
        """(rows x features) SHAP values in log-odds, one-hot slots summed to their feature."""
        phi, _ = self.kernel.contributions(self.encode(rows))
        return phi @ self.grouping

    def explain(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(margin, SHAP per feature) from one encoding of the rows."""
        x = self.encode(rows)
        phi, _ = self.kernel.contributions(x)
        return self.kernel.margin(x), phi @ self.grouping


def portable_files(bundle: Bundle, model: str) -> tuple[str, dict[str, bytes]]:
    """(runtime kind, {file name: bytes}) of one bundle model, read through the checksummed listing."""
    entry = bundle.manifest["models"][model]["runtime"]
    files = {name: bundle.file(relpath).read_bytes() for name, relpath in entry["files"].items()}
    return entry["kind"], files


def load_runtime(bundle: Bundle, model: str) -> ModelRuntime:
    """The runtime of `model` in `bundle`; raises `BundleError` with a readable message."""
    if model not in bundle.manifest["models"]:
        raise BundleError(f"Bundle '{bundle.name}' has no model '{model}'.")
    kind, files = portable_files(bundle, model)
    try:
        kernel = build_kernel(kind, files)
    except BundleError as exc:
        raise BundleError(f"Model '{model}' of bundle '{bundle.name}' cannot run: {exc}") from exc
    names = feature_names(bundle.manifest)
    encoding = bundle.manifest["encoding"]
    _, base = kernel.contributions(np.zeros((1, len(encoding))))
    return ModelRuntime(
        model=model,
        kind=kind,
        kernel=kernel,
        encoding=encoding,
        features=names,
        grouping=grouping_matrix(encoding, names),
        base_value=float(base[0]),
    )

"""LIME beside SHAP: `lime`'s LimeTabularExplainer on the original features, and how far the two agree.

LIME perturbs the customer's row (categoricals as categories, numbers in the
background's quartile bins), scores every perturbed row through the bundle's
runtime and fits a local linear model: its weights are in probability units.
SHAP is exact for the model and in log-odds. Units differ, so the agreement
check compares only what both can say: the *direction* of each reason and the
*order* of the strongest ones.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard.views.common import split_label
from runtime import ModelRuntime, sigmoid
from runtime.threads import one_thread

DEFAULT_SAMPLES = 5000
MIN_SAMPLES, MAX_SAMPLES = 500, 20000
SEED = 0
TOP_K = 5
MISSING_CATEGORY = "(missing)"
AGREEMENT_COLUMNS = ["Feature", "SHAP (log-odds)", "LIME (probability)", "Same direction"]


@dataclass(frozen=True)
class Agreement:
    k: int
    sign_agreement: float  # share of the top-k SHAP features whose LIME weight has the same sign
    rank_correlation: float  # Spearman correlation of the two methods' |values| (importance order) over those features; nan if undefined
    disagreeing: tuple[str, ...]  # features (names) whose directions differ


def agreement(shap: Mapping[str, float], lime: Mapping[str, float], k: int = TOP_K) -> Agreement:
    """Sign agreement and rank correlation over the k features with the largest |SHAP|."""
    top = sorted(shap, key=lambda n: abs(shap[n]), reverse=True)[:k]
    if not top:
        return Agreement(0, float("nan"), float("nan"), ())
    s = np.array([shap[n] for n in top], dtype=np.float64)
    w = np.array([lime.get(n, 0.0) for n in top], dtype=np.float64)
    same = np.sign(s) == np.sign(w)
    return Agreement(
        k=len(top),
        sign_agreement=float(same.mean()),
        rank_correlation=_spearman(np.abs(s), np.abs(w)),
        disagreeing=tuple(n for n, ok in zip(top, same, strict=True) if not ok),
    )


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2:
        return float("nan")
    # Here, not at the top: scipy.stats costs ~1.5 s to import, and only LIME results (which import
    # scikit-learn, and so scipy.stats, anyway) need it; the Customer page's first draw does not.
    from scipy.stats import rankdata

    ra, rb = rankdata(a), rankdata(b)
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def agreement_note(result: Agreement, labels: Mapping[str, str]) -> str:
    """One plain sentence; names the features the methods disagree about."""
    if result.k == 0:
        return "No reasons to compare."
    if result.disagreeing:
        named = ", ".join(split_label(labels.get(n, n))[0] for n in result.disagreeing)
        return (
            f"The two methods disagree about {named}: treat "
            f"{'that reason' if len(result.disagreeing) == 1 else 'those reasons'} with care."
        )
    if not np.isnan(result.rank_correlation) and result.rank_correlation < 0.5:
        return "The two methods agree on every direction but order the reasons differently: treat the order with care."
    return f"The two methods agree on the direction of all top {result.k} reasons."


@dataclass(frozen=True)
class LimeResult:
    weights: dict[str, float]  # feature -> LIME weight (probability units)
    intercept: float
    local_prediction: float
    seconds: float
    samples: int


def _coder(manifest: Mapping, background: pd.DataFrame) -> tuple[list[str], dict[int, list], dict[str, float]]:
    names = [f["name"] for f in manifest["features"]]
    categorical = {}
    for i, spec in enumerate(manifest["features"]):
        if spec["type"] == "categorical":
            categorical[i] = [*(spec.get("categories") or ()), MISSING_CATEGORY]
    fills = {e["feature"]: float(e["fill"]) for e in manifest["encoding"] if e["kind"] == "numeric"}
    return names, categorical, fills


def _encode(
    rows: pd.DataFrame, names: list[str], categorical: Mapping[int, list], fills: Mapping[str, float]
) -> np.ndarray:
    out = np.zeros((len(rows), len(names)))
    for i, name in enumerate(names):
        column = rows[name]
        if i in categorical:
            lookup = {c: j for j, c in enumerate(categorical[i])}
            missing = len(categorical[i]) - 1
            out[:, i] = [lookup.get(v, missing) if isinstance(v, str) else missing for v in column]
        else:
            values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
            out[:, i] = np.where(np.isnan(values), fills.get(name, 0.0), values)
    return out


def _slot_mapper(runtime: ModelRuntime, names: list[str], categorical: Mapping[int, list]):
    """LIME's coded rows → the model's input slots directly, with NumPy only (no DataFrame per call):
    numeric slots copy the value, one-hot slots compare the category code."""
    index = {n: i for i, n in enumerate(names)}
    plan = []
    for entry in runtime.encoding:
        column = index[entry["feature"]]
        if entry["kind"] == "numeric":
            plan.append((column, None))
        else:
            choices = categorical.get(column, [])
            plan.append((column, choices.index(entry["category"]) if entry["category"] in choices else -1))

    def to_slots(x: np.ndarray) -> np.ndarray:
        out = np.empty((len(x), len(plan)))
        codes = np.rint(x).astype(np.int64)
        for slot, (column, code) in enumerate(plan):
            out[:, slot] = x[:, column] if code is None else (codes[:, column] == code)
        return out

    return to_slots


def explain_lime(
    runtime: ModelRuntime,
    manifest: Mapping,
    features: Mapping[str, object],
    background: pd.DataFrame,
    samples: int = DEFAULT_SAMPLES,
    seed: int = SEED,
) -> LimeResult:
    """LIME weights for one customer; the same seed gives the same weights."""

    samples = int(min(max(samples, MIN_SAMPLES), MAX_SAMPLES))
    started = time.perf_counter()
    # One BLAS thread: the fits are small, and on a busy server threads only contend.
    with one_thread():
        return _explain(runtime, manifest, features, background, samples, seed, started)


def _explain(runtime, manifest, features, background, samples, seed, started) -> LimeResult:
    from lime.lime_tabular import LimeTabularExplainer

    names, categorical, fills = _coder(manifest, background)
    training = _encode(background, names, categorical, fills)
    # A fresh explainer per call: its random state advances with every explanation.
    # Yes/No features are categories to LIME too (coded 0/1, which is also their model input).
    binary = {i: ["No", "Yes"] for i, f in enumerate(manifest["features"]) if f["type"] == "binary"}
    explainer = LimeTabularExplainer(
        training,
        mode="classification",
        feature_names=names,
        categorical_features=sorted({**categorical, **binary}),
        categorical_names={**categorical, **binary},
        class_names=["stays", "churns"],
        discretize_continuous=True,
        random_state=seed,
        # Every feature is shown, so skip LIME's extra selection fit.
        feature_selection="none",
    )

    to_slots = _slot_mapper(runtime, names, categorical)

    def predict(x: np.ndarray) -> np.ndarray:
        p = sigmoid(runtime.kernel.margin(to_slots(x)))
        return np.column_stack([1.0 - p, p])

    row = _encode(pd.DataFrame({n: [features.get(n)] for n in names}), names, categorical, fills)[0]
    explanation = explainer.explain_instance(row, predict, labels=(1,), num_features=len(names), num_samples=samples)
    weights = {names[i]: float(w) for i, w in explanation.as_map()[1]}
    return LimeResult(
        weights={n: weights.get(n, 0.0) for n in names},
        intercept=float(explanation.intercept[1]),
        local_prediction=float(np.ravel(explanation.local_pred)[0]),
        seconds=time.perf_counter() - started,
        samples=samples,
    )


def comparison_table(
    shap: Mapping[str, float], lime: Mapping[str, float], labels: Mapping[str, str], k: int = TOP_K
) -> pd.DataFrame:
    top = sorted(shap, key=lambda n: abs(shap[n]), reverse=True)[:k]
    return pd.DataFrame(
        {
            "Feature": [labels.get(n, n) for n in top],
            "SHAP (log-odds)": [float(shap[n]) for n in top],
            "LIME (probability)": [float(lime.get(n, 0.0)) for n in top],
            "Same direction": ["yes" if np.sign(shap[n]) == np.sign(lime.get(n, 0.0)) else "no" for n in top],
        },
        columns=AGREEMENT_COLUMNS,
    )

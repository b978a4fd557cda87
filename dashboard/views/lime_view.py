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
from scipy.stats import rankdata

from bundle.runtime import ModelRuntime
from dashboard.views.common import split_label

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


def _encode(rows: pd.DataFrame, names: list[str], categorical: Mapping[int, list], fills: Mapping[str, float]) -> np.ndarray:
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


def _decode(x: np.ndarray, names: list[str], categorical: Mapping[int, list]) -> pd.DataFrame:
    columns = {}
    for i, name in enumerate(names):
        if i in categorical:
            choices = np.array(categorical[i], dtype=object)
            codes = np.clip(np.rint(x[:, i]).astype(int), 0, len(choices) - 1)
            columns[name] = choices[codes]
        else:
            columns[name] = x[:, i]
    return pd.DataFrame(columns)


def explain_lime(
    runtime: ModelRuntime,
    manifest: Mapping,
    features: Mapping[str, object],
    background: pd.DataFrame,
    samples: int = DEFAULT_SAMPLES,
    seed: int = SEED,
) -> LimeResult:
    """LIME weights for one customer; the same seed gives the same weights."""
    from lime.lime_tabular import LimeTabularExplainer  # imported on demand: only LIME pays for it

    samples = int(min(max(samples, MIN_SAMPLES), MAX_SAMPLES))
    started = time.perf_counter()
    names, categorical, fills = _coder(manifest, background)
    training = _encode(background, names, categorical, fills)
    # A fresh explainer per call: its random state advances with every explanation.
    explainer = LimeTabularExplainer(
        training,
        mode="classification",
        feature_names=names,
        categorical_features=sorted(categorical),
        categorical_names=categorical,
        class_names=["stays", "churns"],
        discretize_continuous=True,
        random_state=seed,
    )

    def predict(x: np.ndarray) -> np.ndarray:
        p = runtime.probability(_decode(x, names, categorical))
        return np.column_stack([1.0 - p, p])

    row = _encode(pd.DataFrame({n: [features.get(n)] for n in names}), names, categorical, fills)[0]
    explanation = explainer.explain_instance(
        row, predict, labels=(1,), num_features=len(names), num_samples=samples
    )
    weights = {names[i]: float(w) for i, w in explanation.as_map()[1]}
    return LimeResult(
        weights={n: weights.get(n, 0.0) for n in names},
        intercept=float(explanation.intercept[1]),
        local_prediction=float(np.ravel(explanation.local_pred)[0]),
        seconds=time.perf_counter() - started,
        samples=samples,
    )


def comparison_table(shap: Mapping[str, float], lime: Mapping[str, float], labels: Mapping[str, str], k: int = TOP_K) -> pd.DataFrame:
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

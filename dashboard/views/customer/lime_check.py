"""LIME beside SHAP: `lime`'s LimeTabularExplainer on the original features, and how far the two agree.

LIME perturbs the customer's row (categoricals as categories, numbers in the
background's quartile bins), scores every perturbed row through the bundle's
runtime (raw rows -> `runtime.encode` -> the model's kernel -> the calibration map, as
every other score) and fits a local linear model to the *calibrated log-odds*, the
unit of the page's effects. A LIME weight is then what having the customer's own value
(their bin or category) rather than another adds to the calibrated log-odds, shown as
an odds factor like SHAP's effects. The two answer different questions (LIME: this
value against the other values of a perturbation; SHAP: against the average, exactly for
this model), so the agreement check compares what both can say: the *direction* of each
reason and the *order* of the strongest ones.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.effects import format_effect
from analytics.reasons import split_label
from runtime import ModelRuntime
from runtime.threads import one_thread

DEFAULT_SAMPLES = 5000
MIN_SAMPLES, MAX_SAMPLES = 500, 20000
SEED = 0
TOP_K = 5
MISSING_CATEGORY = "(missing)"
AGREEMENT_COLUMNS = ["Feature", "SHAP effect", "LIME effect", "Same direction"]


@dataclass(frozen=True)
class Agreement:
    k: int
    sign_agreement: float  # share of the top-k SHAP features whose LIME weight has the same sign
    # Spearman correlation of the two methods' |values| (importance order) over those features; nan if undefined
    rank_correlation: float
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
    weights: dict[str, float]  # feature -> LIME weight (calibrated log-odds)
    intercept: float
    local_prediction: float
    seconds: float
    samples: int


@dataclass(frozen=True)
class LimeSpace:
    """How LIME sees a bundle's features: one number per feature, in manifest order.

    Numeric and Yes/No features are their model input value; a categorical feature is the
    index of its category in `categories[column]`, whose last entry stands for missing or
    unseen (no one-hot slot set). Built from the runtime's encoding, so raw rows reach LIME
    through `encode_rows` and LIME's samples reach the model through it again.
    """

    names: list[str]
    categories: dict[int, list[str]]  # categorical column -> its categories, MISSING_CATEGORY last
    binary: dict[int, list[str]]  # Yes/No column -> ["No", "Yes"] (coded 0/1, also their model input)
    value_slot: dict[int, int]  # numeric or Yes/No column -> the slot holding its value
    category_slots: dict[int, list[tuple[int, int]]]  # categorical column -> (category code, one-hot slot)


def lime_space(manifest: Mapping, encoding: list[dict]) -> LimeSpace:
    """LIME's coding of a bundle's features (categories in the manifest's order), tied to the runtime's slots."""
    names = [f["name"] for f in manifest["features"]]
    column = {n: i for i, n in enumerate(names)}
    categories = {
        i: [*(spec.get("categories") or ()), MISSING_CATEGORY]
        for i, spec in enumerate(manifest["features"])
        if spec["type"] == "categorical"
    }
    value_slot: dict[int, int] = {}
    category_slots: dict[int, list[tuple[int, int]]] = {i: [] for i in categories}
    for slot, entry in enumerate(encoding):
        i = column[entry["feature"]]
        if entry["kind"] == "numeric":
            value_slot[i] = slot
        elif entry["category"] in categories.get(i, ())[:-1]:
            category_slots[i].append((categories[i].index(entry["category"]), slot))
    binary = {i: ["No", "Yes"] for i, f in enumerate(manifest["features"]) if f["type"] == "binary"}
    return LimeSpace(names, categories, binary, value_slot, category_slots)


def to_lime(space: LimeSpace, slots: np.ndarray) -> np.ndarray:
    """Encoded rows (the runtime's slot matrix) -> LIME's coded rows."""
    out = np.zeros((len(slots), len(space.names)))
    for i, slot in space.value_slot.items():
        out[:, i] = slots[:, slot]
    for i, pairs in space.category_slots.items():
        out[:, i] = len(space.categories[i]) - 1  # missing or unseen: no one-hot slot set
        for code, slot in pairs:
            out[slots[:, slot] == 1.0, i] = code
    return out


def lime_rows(space: LimeSpace, samples: np.ndarray) -> pd.DataFrame:
    """LIME's coded rows -> raw feature rows, as the customers table holds them (missing = None)."""
    columns: dict[str, object] = {}
    for i, name in enumerate(space.names):
        if i in space.categories:
            known = space.categories[i][:-1]
            codes = np.clip(np.rint(samples[:, i]).astype(np.int64), 0, len(known))
            columns[name] = np.array([*known, None], dtype=object)[codes]
        else:
            columns[name] = samples[:, i]
    return pd.DataFrame(columns)


def lime_slots(runtime: ModelRuntime, manifest: Mapping, samples: np.ndarray) -> np.ndarray:
    """The slot matrix LIME's samples (rows in LIME's coding) are scored on: `runtime.encode` of their raw rows."""
    return runtime.encode(lime_rows(lime_space(manifest, runtime.encoding), samples))


def lime_samples(runtime: ModelRuntime, manifest: Mapping, rows: pd.DataFrame) -> np.ndarray:
    """Raw feature rows in LIME's coding (the inverse of `lime_rows` up to missing values' fills)."""
    return to_lime(lime_space(manifest, runtime.encoding), runtime.encode(rows))


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


def _explain(
    runtime: ModelRuntime,
    manifest: Mapping,
    features: Mapping[str, object],
    background: pd.DataFrame,
    samples: int,
    seed: int,
    started: float,
) -> LimeResult:
    from lime.lime_tabular import LimeTabularExplainer

    space = lime_space(manifest, runtime.encoding)
    names = space.names
    # A fresh explainer per call: its random state advances with every explanation.
    explainer = LimeTabularExplainer(
        to_lime(space, runtime.encode(background)),
        mode="regression",
        feature_names=names,
        categorical_features=sorted({**space.categories, **space.binary}),
        categorical_names={**space.categories, **space.binary},
        discretize_continuous=True,
        random_state=seed,
        # Every feature is shown, so skip LIME's extra selection fit.
        feature_selection="none",
    )

    def predict(x: np.ndarray) -> np.ndarray:
        return runtime.calibration.log_odds(runtime.kernel.margin(runtime.encode(lime_rows(space, x))))

    row = to_lime(space, runtime.encode(pd.DataFrame({n: [features.get(n)] for n in names})))[0]
    explanation = explainer.explain_instance(row, predict, num_features=len(names), num_samples=samples)
    weights = {names[i]: float(w) for i, w in explanation.as_map()[1]}  # regression: lime files them under 1
    return LimeResult(
        weights={n: weights.get(n, 0.0) for n in names},
        intercept=float(explanation.intercept[1]),  # likewise
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
            "SHAP effect": [format_effect(float(shap[n])) for n in top],
            "LIME effect": [format_effect(float(lime.get(n, 0.0))) for n in top],
            "Same direction": ["yes" if np.sign(shap[n]) == np.sign(lime.get(n, 0.0)) else "no" for n in top],
        },
        columns=AGREEMENT_COLUMNS,
    )

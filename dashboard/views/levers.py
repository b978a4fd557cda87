"""Retention levers: "what would it take to keep this customer?"

Every single change and every pair of changes of the dataset's *actionable*
features (declared in its spec, `actionable: true` in the manifest) is scored
live through the runtime in one batch; the ones that lower the churn
probability most are shown, each with how many customers of similar risk (the
same risk band under this model) already have the suggested value(s).
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations

import numpy as np
import pandas as pd

from bundle.customers import CustomerStore
from bundle.risk import band_cutoffs, risk_band
from bundle.runtime import ModelRuntime
from dashboard.views.common import format_points, format_probability, reason_text
from bundle.runtime import sigmoid
from dashboard.views.whatif import Domain, customer_frame, feature_slots

LEVER_COLUMNS = ["Change", "New probability", "Change in probability", "Similar-risk customers with it", "edits"]
TOP_LEVERS = 8
NUMERIC_STEPS = 3  # candidate values of an actionable numeric feature: low / median-ish / high of its range


def actionable_features(manifest: Mapping) -> list[str]:
    return [f["name"] for f in manifest["features"] if f.get("actionable") is True]


def _candidates(name: str, domain: Domain, current: object) -> list:
    if domain.type == "numeric":
        values = np.linspace(domain.low, domain.high, NUMERIC_STEPS).tolist()
    else:
        values = list(domain.choices)
    return [v for v in values if v != current]


def build_levers(
    runtime: ModelRuntime,
    manifest: Mapping,
    store: CustomerStore,
    model: str,
    features: Mapping[str, object],
    probability: float,
    domains: Mapping[str, Domain],
    top: int = TOP_LEVERS,
) -> pd.DataFrame:
    """The `top` single or paired changes that lower the probability most (only those that lower it)."""
    names = actionable_features(manifest)
    specs = {f["name"]: f for f in manifest["features"]}
    singles = [((n, v),) for n in names for v in _candidates(n, domains[n], features.get(n))]
    pairs = [a + b for a, b in combinations(singles, 2) if a[0][0] != b[0][0]]
    options = singles + pairs
    if not options:
        return pd.DataFrame(columns=LEVER_COLUMNS)
    # Encode the customer once and each candidate value once; every option is that row
    # with a few slots overwritten, and all options are scored in one model call.
    base = runtime.encode(customer_frame(features, runtime.features))[0]
    x = np.repeat(base[np.newaxis], len(options), axis=0)
    encoded = {}
    for name in names:
        candidates = [v for (n, v), in singles if n == name]
        if candidates:
            slots, values = feature_slots(runtime, name, candidates)
            encoded.update({(name, _key(v)): (slots, row) for v, row in zip(candidates, values, strict=True)})
    for i, option in enumerate(options):
        for name, value in option:
            slots, row = encoded[(name, _key(value))]
            x[i, slots] = row
    new_p = sigmoid(runtime.kernel.margin(x))
    order = [i for i in np.argsort(new_p, kind="stable") if new_p[i] < probability][:top]
    peers = _same_band(store, model, probability, manifest)
    out = []
    for i in order:
        option = options[i]
        have = peers.copy()
        for name, value in option:
            have &= _matches(store.feature_column(name), value)
        out.append(
            {
                "Change": " and ".join(reason_text(specs[n], v) for n, v in option),
                "New probability": format_probability(float(new_p[i])),
                "Change in probability": format_points(float(new_p[i]) - probability),
                "Similar-risk customers with it": int(have.sum()),
                "edits": {n: v for n, v in option},
            }
        )
    return pd.DataFrame(out, columns=LEVER_COLUMNS)


def _same_band(store: CustomerStore, model: str, probability: float, manifest: Mapping) -> np.ndarray:
    all_p = store.probabilities(model)
    cutoffs = manifest["models"][model].get("risk_bands") or band_cutoffs(all_p)
    band = risk_band(probability, cutoffs)
    high, medium = cutoffs["high"], cutoffs["medium"]
    if band == "high":
        return all_p >= high
    if band == "medium":
        return (all_p >= medium) & (all_p < high)
    return all_p < medium


def _matches(column: np.ndarray, value: object) -> np.ndarray:
    if isinstance(value, float):
        return np.isclose(np.asarray(column, dtype=np.float64), value)
    return np.asarray(column == value, dtype=bool)


def _key(value: object) -> object:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value

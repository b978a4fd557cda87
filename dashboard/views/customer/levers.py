"""Retention levers: what the model links to lower risk (associations, not tested effects of an offer).

Every single change and every pair of changes of the dataset's *actionable*
features (declared in its spec, `actionable: true` in the manifest) is scored
live through the runtime in one batch; the ones that lower the churn
probability most are shown, each with how many customers of similar risk (the
same risk band under this model) already have the suggested value(s).

A change is only offered when it makes a customer that exists: every new
category must have been seen, among customers, together with each of this
customer's other (unchanged) category and yes/no values, and with the other new
value of a pair. In Telco that keeps "Online security: Yes" away from a customer
without internet service (no such customer exists), without any rule written
for it; the dataset's meaning stays in its data and spec.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from itertools import combinations

import numpy as np
import pandas as pd

from analytics.risk import band_cutoffs, risk_band
from dashboard.views.common import format_points, format_probability, is_missing, reason_text
from dashboard.views.customer.whatif import Domain, customer_frame, feature_slots
from runtime import ModelRuntime
from store.customers import CustomerStore

LEVER_COLUMNS = [
    "Change",
    "New probability",
    "Change in probability",
    "Similar-risk customers with it",
    "Churned among them",
    "edits",
]
TOP_LEVERS = 8
NUMERIC_STEPS = 3  # candidate values of an actionable numeric feature: low / median-ish / high of its range
# Pairs of values seen together are counted on at most this many customers (evenly spaced), so
# the check costs the same at any bundle size; a pair absent from them is rare enough to skip.
COOCCURRENCE_ROWS = 50_000
_SEEN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def actionable_features(manifest: Mapping) -> list[str]:
    return [f["name"] for f in manifest["features"] if f.get("actionable") is True]


def _candidates(name: str, domain: Domain, current: object) -> list:
    if domain.type == "numeric" and domain.low is not None and domain.high is not None:
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
    seen = seen_together(store, manifest)
    singles = [((n, v),) for n in names for v in _candidates(n, domains[n], features.get(n))]
    pairs = [a + b for a, b in combinations(singles, 2) if a[0][0] != b[0][0]]
    options = [o for o in singles + pairs if _plausible(o, features, seen)]
    if not options:
        return pd.DataFrame(columns=LEVER_COLUMNS)
    # Encode the customer once and each candidate value once; every option is that row
    # with a few slots overwritten, and all options are scored in one model call.
    base = runtime.encode(customer_frame(features, runtime.features))[0]
    x = np.repeat(base[np.newaxis], len(options), axis=0)
    encoded = {}
    for name in names:
        candidates = values_set(options, name)
        if candidates:
            slots, values = feature_slots(runtime, name, candidates)
            encoded.update({(name, _key(v)): (slots, row) for v, row in zip(candidates, values, strict=True)})
    for i, option in enumerate(options):
        for name, value in option:
            slots, row = encoded[(name, _key(value))]
            x[i, slots] = row
    new_p = runtime.probability_of(runtime.kernel.margin(x))
    order = [i for i in np.argsort(new_p, kind="stable") if new_p[i] < probability][:top]
    peers = _same_band(store, model, probability, manifest)
    labels = store.labels()  # observed churn (1) of every customer, in row order
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
                "Churned among them": format_probability(float(labels[have].mean())) if have.any() else "–",
                "edits": {n: v for n, v in option},
            }
        )
    return pd.DataFrame(out, columns=LEVER_COLUMNS)


def values_set(options: list[tuple], name: str) -> list:
    """Every value of `name` that some option sets, once each. Not only the single changes' values:
    a value can be plausible only together with another change, so appear in a pair alone."""
    return list({_key(v): v for option in options for n, v in option if n == name}.values())


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


def seen_together(store: CustomerStore, manifest: Mapping) -> Cooccurrence:
    """Which values of category / yes-no features some customer has together; computed once per
    store (shared by every session) on an even sample of customers."""
    cached = _SEEN.get(store)
    if cached is None:
        names = [f["name"] for f in manifest["features"] if f.get("type") in ("categorical", "binary")]
        rows = np.unique(np.linspace(0, len(store) - 1, num=min(len(store), COOCCURRENCE_ROWS), dtype=np.int64))
        cached = _SEEN[store] = Cooccurrence.build(
            {n: np.asarray(store.feature_column(n)[rows], dtype=object) for n in names}
        )
    return cached


class Cooccurrence:
    """Value codes per feature and, per pair of features, the set of code pairs that occur."""

    def __init__(self, codes: dict[str, dict[object, int]], pairs: dict[tuple[str, str], frozenset[int]]) -> None:
        self.codes = codes
        self.pairs = pairs

    @classmethod
    def build(cls, columns: Mapping[str, np.ndarray]) -> Cooccurrence:
        codes, coded = {}, {}
        for name, column in columns.items():
            values, uniques = pd.factorize(np.array([_value_key(v) for v in column], dtype=object))
            codes[name] = {u: i for i, u in enumerate(uniques)}
            coded[name] = values.astype(np.int64)
        pairs = {}
        for f, g in combinations(columns, 2):
            width = len(codes[g])
            pairs[(f, g)] = frozenset(np.unique(coded[f] * width + coded[g]).tolist())
        return cls(codes, pairs)

    def together(self, f: str, a: object, g: str, b: object) -> bool:
        if (f, g) not in self.pairs:
            if (g, f) not in self.pairs:
                return True  # not a pair this check covers (e.g. a numeric feature)
            f, a, g, b = g, b, f, a
        ca, cb = self.codes[f].get(_value_key(a)), self.codes[g].get(_value_key(b))
        return ca is not None and cb is not None and ca * len(self.codes[g]) + cb in self.pairs[(f, g)]


def _plausible(option: tuple, features: Mapping[str, object], seen: Cooccurrence) -> bool:
    """Would a customer with these changes look like one who exists (see the module docstring)?"""
    after = {**features, **dict(option)}
    return all(
        seen.together(name, after[name], other, after.get(other))
        for name, _ in option
        for other in seen.codes
        if other != name
    )


_MISSING = ("missing",)  # one key for None and NaN alike (NaN never equals itself)


def _value_key(value: object) -> object:
    return _MISSING if is_missing(value) else _key(value)

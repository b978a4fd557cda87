"""What-if and ICE: the customer's row with edited values, re-scored and re-explained live.

Everything runs through the bundle's JVM-free runtime (`runtime`), so it
works the same for every model family. Edits travel in the URL as JSON
(`?whatif={"contract":"Two year","tenure":24}`) and are validated strictly:
a bad scenario becomes a `WhatIfError` with a message meant for the user.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from bundle import layout
from bundle.reader import Bundle
from dashboard.views.common import format_points, format_probability, is_missing
from dashboard.views.customer.view import DEFAULT_TOP_N, waterfall_rows
from runtime import ModelRuntime
from runtime.encoding import encode_rows
from store.customers import CustomerStore

MAX_WHATIF_CHARS = 2000
ICE_POINTS = 25
BAND_LOW, BAND_HIGH = 0.1, 0.9  # quantiles of the population's ICE curves drawn as the band


class WhatIfError(ValueError):
    """A what-if scenario that can't be applied; the message is meant for the user."""


@dataclass(frozen=True)
class Domain:
    """What a feature may be set to: a numeric range or a list of choices."""

    feature: str
    type: str
    low: float | None = None
    high: float | None = None
    choices: tuple = ()


def feature_domains(bundle: Bundle, store: CustomerStore) -> dict[str, Domain]:
    """Per feature: the observed numeric range over all customers, or the known categories."""
    domains = {}
    for spec in bundle.manifest["features"]:
        name, kind = spec["name"], spec["type"]
        if kind == "numeric":
            values = np.asarray(store.feature_column(name), dtype=np.float64)
            domains[name] = Domain(name, kind, float(np.nanmin(values)), float(np.nanmax(values)))
        elif kind == "binary":
            domains[name] = Domain(name, kind, choices=(0, 1))
        else:
            domains[name] = Domain(name, kind, choices=tuple(spec.get("categories") or ()))
    return domains


def parse_whatif(raw: object, domains: Mapping[str, Domain], labels: Mapping[str, str]) -> dict[str, object]:
    """`?whatif=` text → {feature: value}; `WhatIfError` for anything not exactly valid."""
    text = "" if raw is None else str(raw)
    if not text.strip():
        return {}
    if len(text) > MAX_WHATIF_CHARS:
        raise WhatIfError(f"The what-if scenario is too long (at most {MAX_WHATIF_CHARS:,} characters).")
    try:
        edits = json.loads(text)
    except ValueError:
        raise WhatIfError(
            'The what-if scenario in the link is not readable (expected JSON like {"tenure": 12}).'
        ) from None
    if not isinstance(edits, dict):
        raise WhatIfError("The what-if scenario must map feature names to values.")
    return {name: validate_value(name, value, domains, labels) for name, value in edits.items()}


def validate_value(name: object, value: object, domains: Mapping[str, Domain], labels: Mapping[str, str]) -> object:
    if name not in domains:
        raise WhatIfError(f"The what-if scenario names an unknown feature '{str(name)[:40]}'.")
    domain = domains[str(name)]
    label = labels.get(str(name), str(name))
    if domain.type == "numeric" and domain.low is not None and domain.high is not None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise WhatIfError(f"{label} must be a number.")
        if not domain.low <= value <= domain.high:
            raise WhatIfError(f"{label} must be between {domain.low:,g} and {domain.high:,g} (the observed range).")
        return float(value)
    if domain.type == "binary":
        if value not in (0, 1) or isinstance(value, float) and not float(value).is_integer():
            raise WhatIfError(f"{label} must be 0 (No) or 1 (Yes).")
        return int(value)
    if not isinstance(value, str) or value not in domain.choices:
        raise WhatIfError(f"{label} has no category '{str(value)[:40]}'.")
    return value


def encode_whatif(edits: Mapping[str, object]) -> str:
    """{feature: value} → the compact JSON that goes into `?whatif=` (stable key order)."""
    return json.dumps(dict(sorted(edits.items())), separators=(",", ":"), ensure_ascii=False)


def customer_frame(features: Mapping[str, object], names: list[str]) -> pd.DataFrame:
    return pd.DataFrame({n: [features.get(n)] for n in names})


@dataclass(frozen=True)
class WhatIfView:
    probability: float
    real_probability: float
    change_text: str  # "+12.3 pts"
    margin: float
    waterfall: pd.DataFrame
    changed: tuple[str, ...]


def build_whatif(
    runtime: ModelRuntime,
    manifest: Mapping,
    features: Mapping[str, object],
    edits: Mapping[str, object],
    real_probability: float,
    top_n: int = DEFAULT_TOP_N,
) -> WhatIfView:
    """Re-score and re-explain the customer's row with `edits` applied, in one runtime call."""
    row = dict(features)
    row.update(edits)
    margin, shap = runtime.explain(customer_frame(row, runtime.features))
    # The same effects as the Why tab: SHAP × the calibration slope, from the calibrated base value.
    effects = dict(zip(runtime.features, runtime.calibration.effect(shap[0]).tolist(), strict=True))
    start = float(runtime.calibration.log_odds(runtime.base_value))
    waterfall = waterfall_rows(manifest["features"], row, effects, start, top_n)
    probability = float(runtime.probability_of(margin[0]))
    changed = tuple(n for n in edits if not _same(edits[n], features.get(n)))
    return WhatIfView(
        probability=probability,
        real_probability=real_probability,
        change_text=format_points(probability - real_probability),
        margin=float(margin[0]),
        waterfall=waterfall,
        changed=changed,
    )


def whatif_edits(chosen: Mapping[str, object], real: Mapping[str, object]) -> dict[str, object]:
    """The values the user changed: {feature: value} for inputs that differ from the customer's own."""
    return {n: v for n, v in chosen.items() if not _unchanged(v, real.get(n))}


def _unchanged(value: object, real: object) -> bool:
    if is_missing(value) or is_missing(real):
        return is_missing(value) and is_missing(real)
    if isinstance(value, float) or isinstance(real, float):
        try:
            return bool(np.isclose(float(value), float(real)))  # type: ignore[arg-type]  # refusals caught below
        except (TypeError, ValueError):
            return False
    return value == real


def _same(a: object, b: object) -> bool:
    if is_missing(a) and is_missing(b):
        return True
    return a == b


@dataclass(frozen=True)
class IceView:
    feature: str
    label: str
    curves: pd.DataFrame  # x, customer, band_low, band_mid, band_high (probabilities)
    current_x: float | str
    current_probability: float
    categorical: bool


def ice_grid(domain: Domain, background: pd.DataFrame, points: int = ICE_POINTS) -> list:
    if domain.type != "numeric":
        return list(domain.choices)
    values = pd.to_numeric(background[domain.feature], errors="coerce").dropna().to_numpy()
    # Quantiles follow where customers actually are; the ends cover the observed range.
    grid = np.unique(np.concatenate([[domain.low, domain.high], np.quantile(values, np.linspace(0, 1, points))]))
    return grid.tolist()


@dataclass(frozen=True)
class Population:
    """The bundle's background rows, raw and encoded once per run (shared by every session)."""

    rows: pd.DataFrame  # raw feature values
    x: np.ndarray  # model input slots (the encoding is the same for every model of a bundle)


def population(manifest: Mapping, background: pd.DataFrame) -> Population:
    return Population(rows=background, x=encode_rows(background, manifest["encoding"]))


def build_ice(
    runtime: ModelRuntime,
    manifest: Mapping,
    features: Mapping[str, object],
    feature: str,
    domain: Domain,
    background: Population,
) -> IceView:
    """This customer's curve and the population band (10th–90th percentile and median of the
    background rows' own ICE curves: their mean is the partial dependence), one runtime call."""
    grid = ice_grid(domain, background.rows)
    names = runtime.features
    customer = customer_frame(features, names)
    # Encode the customer and the population once, then overwrite only this feature's input
    # slots for each grid value: one model call on a (grid x (1 + population)) matrix.
    base = np.vstack([runtime.encode(customer), background.x])
    slots, values = feature_slots(runtime, feature, grid)
    x = np.repeat(base[np.newaxis], len(grid), axis=0)
    x[:, :, slots] = values[:, np.newaxis, :]
    probability = runtime.probability_of(runtime.kernel.margin(x.reshape(-1, base.shape[1]))).reshape(
        len(grid), len(base)
    )
    curves = pd.DataFrame(
        {
            "x": grid,
            "customer": probability[:, 0],
            "band_low": np.quantile(probability[:, 1:], BAND_LOW, axis=1),
            "band_mid": probability[:, 1:].mean(axis=1),
            "band_high": np.quantile(probability[:, 1:], BAND_HIGH, axis=1),
        }
    )
    spec = next(f for f in manifest["features"] if f["name"] == feature)
    current = features.get(feature)
    current_p = float(runtime.probability_of(runtime.kernel.margin(base[:1]))[0])
    return IceView(
        feature=feature,
        label=spec.get("label") or feature,
        curves=curves,
        current_x=cast(float | str, current) if not is_missing(current) else "missing",
        current_probability=current_p,
        categorical=domain.type != "numeric",
    )


def feature_slots(runtime: ModelRuntime, feature: str, values: list) -> tuple[list[int], np.ndarray]:
    """(slot indices of `feature`, (len(values) x those slots) encoded values): lets callers vary one
    feature of an already-encoded row without re-encoding the rest."""
    slots = [i for i, entry in enumerate(runtime.encoding) if entry["feature"] == feature]
    frame = pd.DataFrame({feature: pd.Series(list(values), dtype=object)})
    return slots, encode_rows(frame, [runtime.encoding[i] for i in slots])


def load_background(bundle: Bundle, names: list[str]) -> pd.DataFrame:
    return bundle.read_table(layout.BACKGROUND, columns=names).to_pandas()


def format_change(probability: float, real: float) -> str:
    against = f"against the real {format_probability(real)}"
    return f"{format_probability(probability)} ({format_points(probability - real)} {against})"

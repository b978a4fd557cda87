"""Customer page data, computed without Streamlit so it can be tested and timed.

`build_customer_view` runs on every keystroke-commit of every user, so it does
one store lookup and builds two tiny frames; nothing here scans all customers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analytics.risk import HIGH, LOW, MEDIUM, band_cutoffs, risk_band
from bundle.reader import Bundle
from dashboard.views.common import (
    display_value,
    feature_labels,
    format_points,
    format_probability,
    rank_phrase,
    reason_text,
    with_article,
)
from runtime import sigmoid
from store.customers import CustomerStore

DEFAULT_TOP_N = 10
OTHER = "__other__"
INCREASES = "increases risk"
DECREASES = "decreases risk"

WATERFALL_COLUMNS = ["feature", "label", "value", "reason", "shap", "start", "end", "direction", "rank"]
REASONS_SHOWN = 3
EFFECT_CAPTION = (
    "Each reason's effect is in percentage points of probability: the customer's probability minus "
    "the probability with that one reason's contribution taken out of the log-odds, "
    "p − sigmoid(log-odds − contribution)."
)


@dataclass(frozen=True)
class Reason:
    feature: str
    text: str  # "Contract: Month-to-month"
    shap: float  # log-odds
    points: float  # change in probability (0..1 scale) this reason accounts for

    @property
    def effect(self) -> str:
        return format_points(self.points)


@dataclass(frozen=True)
class CustomerView:
    customer_id: int | str
    model: str
    model_name: str
    probability: float
    percentile: float  # % of customers scored lower than this one
    margin: float  # log-odds
    base_value: float  # log-odds of the average customer (SHAP base value)
    base_probability: float
    threshold: float
    label: int
    split: str
    outcome: str  # "Churned" | "Stayed"
    outcome_detail: str
    features: pd.DataFrame  # Feature, Value, Effect (log-odds), in manifest order
    waterfall: pd.DataFrame  # WATERFALL_COLUMNS, rank 0 = strongest reason
    caption: str
    band: str = LOW
    rank_text: str = ""
    raising: tuple[Reason, ...] = ()
    lowering: tuple[Reason, ...] = ()
    average_probability: float = float("nan")  # mean of the model's predictions over all customers
    churn_rate: float = float("nan")  # share of customers who actually churned (dataset label rate)
    baseline_text: str = ""
    is_champion: bool = True
    position: int = -1  # row in the store
    raw_features: dict = None  # type: ignore[assignment]


def build_customer_view(
    bundle: Bundle, store: CustomerStore, raw_id: object, top_n: int = DEFAULT_TOP_N, model: str | None = None
) -> CustomerView:
    """Everything the Customer page shows for one ID, under `model` (default: the champion).

    Raises `MalformedCustomerId` / `UnknownCustomer` (both `CustomerLookupError`), meant for the user."""
    manifest = bundle.manifest
    model = model or manifest["champion"]
    entry = manifest["models"][model]
    position = store.position(raw_id)
    record = store.record_at(position)
    specs = manifest["features"]
    shap = record.shap[model]
    shown = {f["name"]: display_value(f, record.features.get(f["name"])) for f in specs}
    labels = feature_labels(manifest)
    base_value = float(entry["shap"]["base_value"])
    probability = record.probability[model]
    percentile = float(record.percentile[model])
    raising, lowering = _reasons(
        shap, {f["name"]: f for f in specs}, record.features, probability, record.margin[model]
    )
    band = risk_band(probability, entry.get("risk_bands") or band_cutoffs(store.probabilities(model)))
    rank_text = rank_phrase(percentile)
    average = float(np.mean(store.probabilities(model)))
    churn_rate = float(manifest["dataset"].get("label_rate", float("nan")))
    return CustomerView(
        customer_id=record.customer_id,
        model=model,
        model_name=entry.get("display_name", model),
        probability=probability,
        percentile=percentile,
        margin=record.margin[model],
        base_value=base_value,
        base_probability=float(sigmoid(base_value)),
        threshold=float(entry.get("threshold", 0.5)),
        label=record.label,
        split=record.split,
        outcome="Churned" if record.label == 1 else "Stayed",
        outcome_detail=(
            "test set: the model never saw this customer while training"
            if record.split == "test"
            else "training set: the model learned from this customer"
        ),
        features=_details(specs, labels, shown, shap),
        waterfall=_waterfall_rows(shap, labels, shown, base_value, top_n),
        caption=_caption(
            record.customer_id, entry.get("display_name", model), probability, rank_text, band, raising, lowering
        ),
        band=band,
        rank_text=rank_text,
        raising=raising,
        lowering=lowering,
        average_probability=average,
        churn_rate=churn_rate,
        baseline_text=baseline_text(base_value, average, churn_rate),
        is_champion=model == manifest["champion"],
        position=position,
        raw_features=dict(record.features),
    )


def shap_by_feature(manifest: Mapping, view: CustomerView) -> dict[str, float]:
    """{feature name: SHAP value (log-odds)} of the customer shown."""
    # view.features lists features in manifest order.
    names = [f["name"] for f in manifest["features"]]
    return dict(zip(names, view.features["Effect (log-odds)"].astype(float), strict=True))


def _details(
    specs: list[dict], labels: Mapping[str, str], shown: Mapping[str, str], shap: Mapping[str, float]
) -> pd.DataFrame:
    """The customer details table: Feature, Value, Effect (log-odds), in manifest order."""
    return pd.DataFrame(
        {
            "Feature": [labels[f["name"]] for f in specs],
            "Value": [shown[f["name"]] for f in specs],
            "Effect (log-odds)": [shap[f["name"]] for f in specs],
        }
    )


def baseline_text(base_value: float, average: float, churn_rate: float) -> str:
    """Three different "averages", each named for what it is."""
    baseline = format_probability(float(sigmoid(base_value)))
    return (
        f"The waterfall starts at the model's baseline, {baseline}: the probability "
        f"at the customers' average log-odds (log-odds average differently from probabilities). "
        f"The average customer's predicted probability is {format_probability(average)}, "
        f"and {format_probability(churn_rate)} of customers actually churned."
    )


def _reasons(
    shap: Mapping[str, float], specs: Mapping[str, Mapping], values: Mapping[str, object], p: float, margin: float
) -> tuple[tuple[Reason, ...], tuple[Reason, ...]]:
    def reason(name: str) -> Reason:
        phi = float(shap[name])
        return Reason(name, reason_text(specs[name], values.get(name)), phi, p - float(sigmoid(margin - phi)))

    up = sorted((n for n in shap if shap[n] > 0), key=lambda n: -shap[n])[:REASONS_SHOWN]
    down = sorted((n for n in shap if shap[n] < 0), key=lambda n: shap[n])[:REASONS_SHOWN]
    return tuple(reason(n) for n in up), tuple(reason(n) for n in down)


def probability_waterfall(waterfall: pd.DataFrame) -> pd.DataFrame:
    """The same bars on the probability scale: start/end as probabilities, `shap` as the
    change in probability each bar makes at its place in the walk (sums to p − baseline)."""
    out = waterfall.copy()
    out["start"] = sigmoid(out["start"].to_numpy(dtype=float))
    out["end"] = sigmoid(out["end"].to_numpy(dtype=float))
    out["shap"] = out["end"] - out["start"]
    return out


def _waterfall_rows(
    shap: Mapping[str, float],
    labels: Mapping[str, str],
    shown: Mapping[str, str],
    base_value: float,
    top_n: int,
) -> pd.DataFrame:
    ranked = sorted(shap, key=lambda name: abs(shap[name]), reverse=True)
    top, rest = ranked[:top_n], ranked[top_n:]
    rows: list[dict[str, Any]] = [
        {
            "feature": name,
            "label": labels[name],
            "value": shown[name],
            "reason": f"{labels[name]} = {shown[name]}",
            "shap": float(shap[name]),
        }
        for name in top
    ]
    if rest:
        rows.append(
            {
                "feature": OTHER,
                "label": f"{len(rest)} other features",
                "value": "",
                "reason": f"{len(rest)} other features",
                "shap": float(sum(shap[name] for name in rest)),
            }
        )
    # SHAP's waterfall convention: the small stuff is applied first, so walking the
    # bars bottom-up from the base value, the strongest reason ends at the prediction.
    level = base_value
    for row in reversed(rows):
        row["start"] = level
        level += row["shap"]
        row["end"] = level
    for rank, row in enumerate(rows):
        row["direction"] = INCREASES if row["shap"] >= 0 else DECREASES
        row["rank"] = rank
    return pd.DataFrame(rows, columns=WATERFALL_COLUMNS)


def _caption(
    customer_id: object,
    model_name: str,
    probability: float,
    rank_text: str,
    band: str,
    raising: tuple[Reason, ...],
    lowering: tuple[Reason, ...],
) -> str:
    chance = with_article(format_probability(probability))
    text = f"{model_name} gives customer {customer_id} {chance} chance of churning: {band} risk, {rank_text}."

    def listed(reasons: tuple[Reason, ...]) -> str:
        return "; ".join(f"{r.text} ({r.effect})" for r in reasons)

    if band == HIGH and raising:
        text += f" The main reasons for concern: {listed(raising)}."
        if lowering:
            text += f" Working in the customer's favour: {listed(lowering)}."
    elif band == MEDIUM and raising:
        text += f" What raises the risk most: {listed(raising)}."
        if lowering:
            text += f" What holds it down: {listed(lowering)}."
    else:
        if lowering:
            text += f" What keeps the risk low: {listed(lowering)}."
        if raising:
            text += f" Small upward pushes: {listed(raising)}."
    return text

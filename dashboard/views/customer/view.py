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

from analytics.effects import UNIT_HELP, format_effect, ranked, shares
from analytics.reasons import reason_for
from analytics.risk import LOW, band_cutoffs, risk_band
from bundle.reader import Bundle
from dashboard.views.common import display_value, format_probability, rank_phrase, rank_short, with_article
from runtime import IDENTITY, Calibration
from store.customers import CustomerStore

DEFAULT_TOP_N = 10
OTHER = "__other__"
INCREASES = "increases risk"
DECREASES = "decreases risk"

WATERFALL_COLUMNS = [
    "feature", "label", "value", "reason", "effect", "effect_text", "start", "end", "direction", "rank"
]  # fmt: skip
DETAILS_COLUMNS = ["Feature", "Value", "Reason", "Effect", "Share of the push"]
EFFECT_CAPTION = UNIT_HELP
OUTCOME_DETAIL = {
    "test": "test set: the model never saw this customer while training",
    "train": "training set: used to fit, tune or calibrate the model",
}


@dataclass(frozen=True)
class Reason:
    feature: str
    code: str  # the reason code (analytics.reasons), what a CRM groups by
    text: str  # its phrase: "Month-to-month contract", "Tenure: 2 months"
    shap: float  # the model's own log-odds
    effect: float  # calibrated log-odds (SHAP × calibration slope): the one effect shown
    share: float  # |effect| / Σ |effect| over all features (0..1)

    @property
    def effect_text(self) -> str:
        return format_effect(self.effect)


@dataclass(frozen=True)
class CustomerView:
    customer_id: int | str
    model: str
    model_name: str
    probability: float  # calibrated: what every page, export and batch output shows
    percentile: float  # % of customers scored lower than this one
    margin: float  # the model's own log-odds
    base_value: float  # the model's log-odds of the average customer (SHAP base value)
    base_probability: float  # calibrated probability at the base value: where the waterfall starts
    threshold: float
    label: int
    split: str
    outcome: str  # "Churned" | "Stayed"
    outcome_detail: str
    features: pd.DataFrame  # DETAILS_COLUMNS, in manifest order
    waterfall: pd.DataFrame  # WATERFALL_COLUMNS, rank 0 = strongest reason
    caption: str
    effects: dict[str, float]  # feature -> effect (calibrated log-odds), every feature
    calibration: Calibration = IDENTITY
    calibration_text: str = ""
    band: str = LOW
    rank_text: str = ""
    rank_short: str = ""
    reasons: tuple[Reason, ...] = ()  # the strongest (at most MAX_REASONS), largest |effect| first
    raising: tuple[Reason, ...] = ()  # those of `reasons` that raise the risk, largest first
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
    calibration = Calibration.from_manifest(entry["calibration"])
    effect = {name: float(calibration.effect(phi)) for name, phi in record.shap[model].items()}
    reasons = strongest_reasons(specs, record.features, record.shap[model], effect)
    base_value = float(entry["shap"]["base_value"])
    probability = record.probability[model]
    percentile = float(record.percentile[model])
    band = risk_band(probability, entry.get("risk_bands") or band_cutoffs(store.probabilities(model)))
    rank_text = rank_phrase(percentile)
    average = float(np.mean(store.probabilities(model)))
    churn_rate = float(manifest["dataset"].get("label_rate", float("nan")))
    raising = tuple(r for r in reasons if r.effect > 0)
    lowering = tuple(r for r in reasons if r.effect < 0)
    return CustomerView(
        customer_id=record.customer_id,
        model=model,
        model_name=entry.get("display_name", model),
        probability=probability,
        percentile=percentile,
        margin=record.margin[model],
        base_value=base_value,
        base_probability=float(calibration.probability(base_value)),
        threshold=float(entry.get("threshold", 0.5)),
        label=record.label,
        split=record.split,
        outcome="Churned" if record.label == 1 else "Stayed",
        outcome_detail=OUTCOME_DETAIL["test" if record.split == "test" else "train"],
        features=_details(specs, record.features, effect),
        waterfall=waterfall_rows(specs, record.features, effect, float(calibration.log_odds(base_value)), top_n),
        caption=_caption(
            record.customer_id, entry.get("display_name", model), probability, rank_text, band, raising, lowering
        ),
        effects=effect,
        calibration=calibration,
        calibration_text=calibration_text(entry["calibration"]),
        band=band,
        rank_text=rank_text,
        rank_short=rank_short(percentile),
        reasons=reasons,
        raising=raising,
        lowering=lowering,
        average_probability=average,
        churn_rate=churn_rate,
        baseline_text=baseline_text(float(calibration.probability(base_value)), average, churn_rate),
        is_champion=model == manifest["champion"],
        position=position,
        raw_features=dict(record.features),
    )


def strongest_reasons(
    specs: list[dict], values: Mapping[str, object], shap: Mapping[str, float], effect: Mapping[str, float]
) -> tuple[Reason, ...]:
    """The MAX_REASONS largest effects (features with no effect at all are no reason), largest first."""
    names = [f["name"] for f in specs]
    sizes = np.array([effect[n] for n in names])
    share = shares(sizes)
    chosen = [i for i in ranked(sizes) if sizes[i] != 0.0]
    out = []
    for i in chosen:
        code, phrase = reason_for(specs[i], values.get(names[i]))
        out.append(Reason(names[i], code, phrase, float(shap[names[i]]), float(sizes[i]), float(share[i])))
    return tuple(out)


def _details(specs: list[dict], values: Mapping[str, object], effect: Mapping[str, float]) -> pd.DataFrame:
    """The customer details table, in manifest order: label, value, reason phrase, effect, share (%)."""
    names = [f["name"] for f in specs]
    share = shares(np.array([effect[n] for n in names]))
    return pd.DataFrame(
        {
            "Feature": [f.get("label") or f["name"] for f in specs],
            "Value": [display_value(f, values.get(f["name"])) for f in specs],
            "Reason": [reason_for(f, values.get(f["name"]))[1] for f in specs],
            "Effect": [format_effect(effect[n]) for n in names],
            "Share of the push": share * 100.0,
        },
        columns=DETAILS_COLUMNS,
    )


def calibration_text(record: Mapping) -> str:
    """How the probability shown relates to the model's own log-odds, in one or two sentences."""
    if record["method"] == "none":
        return (
            "This model's probabilities are not calibrated (the bundle was trained before calibration): "
            "the probability is the logistic function of the model's log-odds."
        )
    return (
        f"Probabilities are calibrated (Platt scaling fitted on {record['rows']:,} validation customers, never "
        f"the test split): calibrated log-odds = {record['slope']:.3f} × the model's log-odds "
        f"{'+' if record['intercept'] >= 0 else '−'} {abs(record['intercept']):.3f}. Each effect is the model's "
        f"SHAP value × {record['slope']:.3f}, so the effects add up to the probability shown."
    )


def baseline_text(baseline: float, average: float, churn_rate: float) -> str:
    """Three different "averages", each named for what it is."""
    return (
        f"The waterfall starts at the model's baseline, {format_probability(baseline)}: the probability "
        f"at the customers' average log-odds (log-odds average differently from probabilities). "
        f"The average customer's predicted probability is {format_probability(average)}, "
        f"and {format_probability(churn_rate)} of customers actually churned."
    )


def waterfall_rows(
    specs: list[dict], values: Mapping[str, object], effect: Mapping[str, float], start: float, top_n: int
) -> pd.DataFrame:
    """The waterfall's bars in calibrated log-odds from `start` (the calibrated base value): the
    `top_n` largest effects, the rest as one bar; rank 0 = the strongest."""
    by_name = {f["name"]: f for f in specs}
    ordered = sorted(effect, key=lambda name: abs(effect[name]), reverse=True)
    top, rest = ordered[:top_n], ordered[top_n:]
    rows: list[dict[str, Any]] = []
    for name in top:
        spec = by_name[name]
        rows.append(
            {
                "feature": name,
                "label": spec.get("label") or name,
                "value": display_value(spec, values.get(name)),
                "reason": reason_for(spec, values.get(name))[1],
                "effect": float(effect[name]),
            }
        )
    if rest:
        total = float(sum(effect[name] for name in rest))
        rows.append({"feature": OTHER, "label": f"{len(rest)} other features", "value": ""})
        rows[-1] |= {"reason": f"{len(rest)} other features", "effect": total}
    # SHAP's waterfall convention: the small stuff is applied first, so walking the
    # bars bottom-up from the base value, the strongest reason ends at the prediction.
    level = start
    for row in reversed(rows):
        row["start"] = level
        level += row["effect"]
        row["end"] = level
    for rank, row in enumerate(rows):
        row["effect_text"] = format_effect(row["effect"])
        row["direction"] = INCREASES if row["effect"] >= 0 else DECREASES
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
    """One sentence on the probability, then the reasons by size in each direction (never called small)."""
    chance = with_article(format_probability(probability))
    text = f"{model_name} gives customer {customer_id} {chance} chance of churning: {band} risk, {rank_text}."

    def listed(reasons: tuple[Reason, ...]) -> str:
        return "; ".join(f"{r.text} ({r.effect_text})" for r in reasons)

    if raising:
        text += f" What raises it most: {listed(raising)}."
    if lowering:
        text += f" What lowers it most: {listed(lowering)}."
    if not raising and not lowering:
        text += " No feature moves this customer's risk away from the baseline."
    return text

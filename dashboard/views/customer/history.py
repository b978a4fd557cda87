"""A customer's risk over the bundle's history, and why it moved since the previous snapshot (no Streamlit).

Under one model the change is attributed exactly: SHAP values add up, with the model's fixed base value, to
its log-odds, so the change in calibrated log-odds between two snapshots equals the sum over features of
slope × (SHAP now − SHAP then); each feature's share is its term. What floating point leaves over (the model's
own additivity gap, ≤ 1e-4 by the bundle's contract) is shown as its own line, so the parts always add up.
Where the snapshots were scored by different model generations, the earlier data is scored again with the
newer (live) model through `runtime`: the model's change is new model on old data − old score, and the data's
change is new model on new data − new model on old data, attributed by SHAP under the newer model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bundle import history
from bundle.feature_types import display_value
from bundle.reader import Bundle
from dashboard.views.common import format_points, format_probability
from runtime import ModelRuntime
from store.history import HistoryStore, SnapshotRow

SIMULATED_NOTE = "Simulated data: these months were generated from the training table (docs/history.md)."


@dataclass(frozen=True)
class Change:
    feature: str
    words: str  # "Contract changed from One year to Month-to-month"
    effect: float  # calibrated log-odds


@dataclass(frozen=True)
class HistoryView:
    chart: pd.DataFrame  # snapshot, order, probability (%; NaN where absent), status
    cuts: dict[str, float]  # the live model's risk band cut-offs (probabilities)
    current: str
    previous: str | None
    headline: str
    log_odds_text: str
    changes: tuple[Change, ...]
    remainder: float  # calibrated log-odds the SHAP terms leave over (additivity gap)
    model_text: str  # "" unless the model generation changed between the two snapshots
    simulated: bool


def _log_odds(meta: dict, model: str, margin: float) -> float:
    calibration = meta["models"][model]["calibration"]
    return float(calibration["slope"]) * margin + float(calibration["intercept"])


def _words(feature: dict, before: object, after: object) -> str:
    label = feature.get("label", feature["name"])
    then, now = display_value(feature, before), display_value(feature, after)
    if then == now:
        return f"{label} unchanged at {now} (its effect moved with the other features)"
    if feature["type"] == "numeric" and isinstance(before, (int, float)) and isinstance(after, (int, float)):
        return f"{label} {'rose' if after > before else 'fell'} from {then} to {now}"
    return f"{label} changed from {then} to {now}"


def attribute(features: list[dict], then: dict, now: dict, model: str, slope: float) -> tuple[list[Change], float]:
    """Per-feature terms slope × ΔSHAP (largest first) and what they leave of slope × Δmargin."""
    changes = []
    for feature in features:
        name = feature["name"]
        delta = slope * (float(now[history.shap_column(model, name)]) - float(then[history.shap_column(model, name)]))
        changes.append(Change(name, _words(feature, then[name], now[name]), delta))
    total = slope * (float(now[history.margin_column(model)]) - float(then[history.margin_column(model)]))
    remainder = total - math.fsum(c.effect for c in changes)
    return sorted(changes, key=lambda c: -abs(c.effect)), remainder


def _chart(rows: list[SnapshotRow], model: str) -> pd.DataFrame:
    records = []
    for order, row in enumerate(rows):
        present = row.values is not None
        p = float(row.values[history.probability_column(model)]) * 100 if row.values is not None else np.nan
        records.append({"snapshot": row.snapshot.label, "order": order, "probability": p, "present": present})
    return pd.DataFrame.from_records(records)


def build_history_view(
    bundle: Bundle, store: HistoryStore, customer_id: int | str, model: str, runtime: ModelRuntime, selected: str | None
) -> HistoryView | None:
    """None when the history has fewer than two snapshots (nothing to compare)."""
    if len(store) < 2:
        return None
    labels = [s.label for s in store.snapshots]
    at = max(labels.index(selected) if selected in labels else len(labels) - 1, 1)
    rows = store.customer(customer_id, model, detail={labels[at - 1], labels[at]})
    now, then = rows[at], rows[at - 1]
    cuts = {k: float(v) for k, v in bundle.manifest["models"][model].get("risk_bands", {}).items() if k != "method"}
    base = {
        "chart": _chart(rows, model),
        "cuts": cuts,
        "current": now.snapshot.label,
        "previous": then.snapshot.label,
        "simulated": any(r.snapshot.meta["simulated"] for r in rows),
    }
    absent = [r.snapshot.label for r in (then, now) if r.values is None]
    if absent:
        text = f"Absent from snapshot {' and '.join(absent)}: no change to attribute (never interpolated)."
        return HistoryView(**base, headline=text, log_odds_text="", changes=(), remainder=0.0, model_text="")
    assert now.values is not None and then.values is not None
    p_now = float(now.values[history.probability_column(model)])
    p_then = float(then.values[history.probability_column(model)])
    headline = (
        f"Since {then.snapshot.label}: {format_probability(p_then)} → {format_probability(p_now)} "
        f"({format_points(p_now - p_then)})"
    )
    odds_now = _log_odds(now.snapshot.meta, model, float(now.values[history.margin_column(model)]))
    odds_then = _log_odds(then.snapshot.meta, model, float(then.values[history.margin_column(model)]))
    log_odds_text = f"log-odds {odds_then:+.2f} → {odds_now:+.2f} ({odds_now - odds_then:+.2f})"
    features = [f for f in bundle.manifest["features"] if f["name"] in now.snapshot.meta["features"]]
    slope = float(now.snapshot.meta["models"][model]["calibration"]["slope"])
    if now.snapshot.generation == then.snapshot.generation:
        changes, remainder = attribute(features, then.values, now.values, model, slope)
        return HistoryView(**base, headline=headline, log_odds_text=log_odds_text, changes=tuple(changes),
                           remainder=remainder, model_text="")  # fmt: skip
    return _across_generations(bundle, base, headline, log_odds_text, then, now, model, runtime, features)


def _across_generations(
    bundle: Bundle, base: dict, headline: str, log_odds_text: str, then: SnapshotRow, now: SnapshotRow,
    model: str, runtime: ModelRuntime, features: list[dict],
) -> HistoryView:  # fmt: skip
    """Data change vs model change, with the earlier data scored again by the newer (live) model."""
    assert now.values is not None and then.values is not None
    if now.snapshot.generation != bundle.run_id or then.snapshot.meta["features"] != now.snapshot.meta["features"]:
        text = (
            f"The model was retrained between {then.snapshot.label} and {now.snapshot.label}, and the newer model "
            "is no longer the live one (or uses other features): this change can't be split into data and model."
        )
        return HistoryView(**base, headline=headline, log_odds_text=log_odds_text, changes=(), remainder=0.0,
                           model_text=text)  # fmt: skip
    names = now.snapshot.meta["features"]
    old_rows = pd.DataFrame([{n: then.values[n] for n in names}])
    margin, phi = runtime.explain(old_rows)
    rescored = {n: then.values[n] for n in names}
    rescored |= {history.shap_column(model, n): float(phi[0, j]) for j, n in enumerate(names)}
    rescored[history.margin_column(model)] = float(margin[0])
    p_then = float(then.values[history.probability_column(model)])
    p_mid = float(runtime.probability_of(float(margin[0])))
    p_now = float(now.values[history.probability_column(model)])
    slope = float(now.snapshot.meta["models"][model]["calibration"]["slope"])
    changes, remainder = attribute(features, rescored, now.values, model, slope)
    text = (
        f"The model was retrained between {then.snapshot.label} and {now.snapshot.label}. "
        f"Model change (new model on the {then.snapshot.label} data): {format_probability(p_then)} → "
        f"{format_probability(p_mid)} ({format_points(p_mid - p_then)}); data change (new model, "
        f"{then.snapshot.label} → {now.snapshot.label} data): {format_probability(p_mid)} → "
        f"{format_probability(p_now)} ({format_points(p_now - p_mid)}), attributed below."
    )
    return HistoryView(**base, headline=headline, log_odds_text=log_odds_text, changes=tuple(changes),
                       remainder=remainder, model_text=text)  # fmt: skip

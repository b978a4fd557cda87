"""Exports of one customer's explanation: CSV, and a self-contained HTML report.

The HTML report embeds its charts as static SVG (rendered by `vl-convert-python`
from the same Altair specs the page draws), so it opens offline and can be
attached to an email. Every piece of data in it goes through `html.escape`.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Mapping

import altair as alt
import numpy as np
import pandas as pd

from analytics.effects import format_effect, odds_factor, shares
from analytics.reasons import reason_for
from dashboard.views.common import format_probability
from dashboard.views.customer.view import EFFECT_CAPTION, CustomerView

CSV_COLUMNS = [
    "feature", "label", "value", "reason_code", "reason", "effect", "effect_log_odds", "odds_factor",
    "share_of_push", "lime_effect_log_odds",
]  # fmt: skip
# OWASP's CSV-injection rule: a text cell starting with one of these is a formula to a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """Text a spreadsheet would run as a formula, prefixed with a single quote; anything else as is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def export_name(bundle: str, run_id: str, customer_id: object, suffix: str) -> str:
    """ "churnlens-telco-<run>-customer-42.html"; anything unsafe in a file name becomes '_'."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", f"churnlens-{bundle}-{run_id}-customer-{customer_id}")
    return f"{safe[:150]}.{suffix}"


def explanation_csv(
    manifest: Mapping, features: Mapping[str, object], effects: Mapping[str, float], lime: Mapping[str, float] | None
) -> str:
    """One row per feature: name, label, raw value, reason code and phrase, the effect as the page writes
    it, its calibrated log-odds, odds factor and share of the push, and LIME's weight in the same
    log-odds (empty until LIME has run). Text cells are made spreadsheet-safe."""
    share = shares(np.array([float(effects[f["name"]]) for f in manifest["features"]]))
    rows = []
    for f, part in zip(manifest["features"], share, strict=True):
        code, phrase = reason_for(f, features.get(f["name"]))
        effect = float(effects[f["name"]])
        rows.append(
            {
                "feature": f["name"],
                "label": f.get("label") or f["name"],
                "value": features.get(f["name"]),
                "reason_code": code,
                "reason": phrase,
                "effect": format_effect(effect),
                "effect_log_odds": effect,
                "odds_factor": odds_factor(effect),
                "share_of_push": float(part),
                "lime_effect_log_odds": None if lime is None else float(lime.get(f["name"], 0.0)),
            }
        )
    frame = pd.DataFrame(rows, columns=CSV_COLUMNS)
    for column in ("feature", "label", "value", "reason_code", "reason"):
        frame[column] = frame[column].map(spreadsheet_safe)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue()


def chart_svg(chart: alt.TopLevelMixin) -> str:
    import vl_convert as vlc  # only exports pay for it

    # "container" widths have no meaning offline: give the static chart a fixed width.
    spec = chart.to_dict()
    if spec.get("width") == "container":
        spec["width"] = 640
    return vlc.vegalite_to_svg(spec)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def html_report(
    *,
    title: str,
    customer_id: object,
    bundle: str,
    run_id: str,
    model_name: str,
    probability: float,
    band: str,
    rank_text: str,
    summary: str,
    raising: list[tuple[str, str]],
    lowering: list[tuple[str, str]],
    baseline: str,
    effect_note: str,
    charts: Mapping[str, str],
    details: pd.DataFrame,
    lime_note: str | None = None,
) -> str:
    """A standalone HTML page. `charts` maps a heading to an SVG string made by `chart_svg`
    (trusted: generated here from numbers); everything else is data and is escaped."""

    def reasons(items: list[tuple[str, str]]) -> str:
        if not items:
            return "<p>None.</p>"
        return "<ul>" + "".join(f"<li>{_e(text)} <b>{_e(effect)}</b></li>" for text, effect in items) + "</ul>"

    table_rows = "".join(
        "<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>" for row in details.itertuples(index=False)
    )
    head = "".join(f"<th>{_e(c)}</th>" for c in details.columns)
    figures = "".join(f"<h2>{_e(name)}</h2><figure>{svg}</figure>" for name, svg in charts.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>
<style>body{{font-family:sans-serif;max-width:900px;margin:2em auto;color:#222}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 8px;text-align:left}}
.metric{{font-size:1.6em;font-weight:bold}}</style></head><body>
<h1>{_e(title)}</h1>
<p>Bundle {_e(bundle)}, run {_e(run_id)}, model {_e(model_name)}.</p>
<p class="metric">Churn probability {_e(format_probability(probability))} · {_e(band)} risk</p>
<p>{_e(rank_text)}</p>
<p>{_e(summary)}</p>
<h2>Reasons that raise the risk</h2>{reasons(raising)}
<h2>Reasons that lower the risk</h2>{reasons(lowering)}
<p><small>{_e(effect_note)}</small></p>
<p><small>{_e(baseline)}</small></p>
{f"<p>{_e(lime_note)}</p>" if lime_note else ""}
{figures}
<h2>Customer details</h2><table><tr>{head}</tr>{table_rows}</table>
<p><small>Customer {_e(customer_id)} · made with churnlens</small></p>
</body></html>
"""


def customer_report(
    view: CustomerView, bundle: str, run_id: str, charts: Mapping[str, str], lime_note: str | None = None
) -> str:
    """The HTML report of one customer's view: the same reasons, effects and sentence as the page."""
    return html_report(
        title=f"Customer {view.customer_id}: churn risk",
        customer_id=view.customer_id,
        bundle=bundle,
        run_id=run_id,
        model_name=view.model_name,
        probability=view.probability,
        band=view.band,
        rank_text=view.rank_text,
        summary=view.caption,
        raising=[(r.text, r.effect_text) for r in view.raising],
        lowering=[(r.text, r.effect_text) for r in view.lowering],
        baseline=f"{view.calibration_text} {view.baseline_text}",
        effect_note=EFFECT_CAPTION,
        charts=charts,
        details=view.features,
        lime_note=lime_note,
    )

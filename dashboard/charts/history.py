"""Altair builders for the history views (Customer page's history section, Monitoring page): data in, chart out."""

from __future__ import annotations

import altair as alt
import pandas as pd

HEIGHT = 220
PERCENT = alt.Scale(domain=[0, 100])


def probability_line(points: pd.DataFrame, cuts: dict[str, float]) -> alt.LayerChart | alt.FacetChart:
    """Probability (%) per snapshot; absent snapshots leave a gap (never interpolated); dashed band cut-offs."""
    order = points["snapshot"].tolist()
    base = alt.Chart(points).encode(
        x=alt.X("snapshot:N", sort=order, title="Snapshot"),
        y=alt.Y("probability:Q", title="Churn probability (%)", scale=PERCENT),
    )
    line = base.mark_line(point=True).encode(
        tooltip=[alt.Tooltip("snapshot:N", title="Snapshot"), alt.Tooltip("probability:Q", title="%", format=".1f")]
    )
    rules = pd.DataFrame(
        [{"band": f"{name} risk from", "probability": value * 100} for name, value in sorted(cuts.items())]
    )
    cut_lines = (
        alt.Chart(rules)
        .mark_rule(strokeDash=[4, 4], color="gray")
        .encode(
            y=alt.Y("probability:Q"),
            tooltip=[alt.Tooltip("band:N", title="Cut-off"), alt.Tooltip("probability:Q", title="%", format=".1f")],
        )
    )
    return alt.layer(line, cut_lines, height=HEIGHT)


def over_time(frame: pd.DataFrame, value: str, title: str, series: str, order: list[str]) -> alt.Chart:
    """One line per `series` across snapshots (columns: snapshot, `series`, `value`)."""
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("snapshot:N", sort=order, title="Snapshot"),
            y=alt.Y(f"{value}:Q", title=title),
            color=alt.Color(f"{series}:N", title=series.capitalize()),
            tooltip=[
                alt.Tooltip("snapshot:N", title="Snapshot"),
                alt.Tooltip(f"{series}:N"),
                alt.Tooltip(f"{value}:Q", title=title, format=".3f"),
            ],
        )
        .properties(height=HEIGHT)
    )


def score_histogram(frame: pd.DataFrame, threshold: float) -> alt.LayerChart | alt.FacetChart:
    """Customers per 5-point probability bin (columns: lower, upper in %, customers), threshold as a rule."""
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("lower:Q", bin="binned", title="Churn probability (%)", scale=PERCENT),
            x2="upper:Q",
            y=alt.Y("customers:Q", title="Customers"),
            tooltip=[
                alt.Tooltip("lower:Q", title="From %"),
                alt.Tooltip("upper:Q", title="To %"),
                alt.Tooltip("customers:Q", title="Customers", format=","),
            ],
        )
    )
    rule = alt.Chart(pd.DataFrame([{"threshold": threshold * 100}])).mark_rule(color="red").encode(x="threshold:Q")
    return alt.layer(bars, rule, height=HEIGHT)

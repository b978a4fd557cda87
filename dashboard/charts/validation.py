"""Altair builders for the Validation page: data in, chart out; no Streamlit, no file access."""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import pandas as pd

from dashboard.charts.models import diagonal_line, pr_chart, roc_chart

HEIGHT = 320
UNIT = alt.Scale(domain=[0, 1])


def _named(frame: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    out = frame.copy()
    out["Model"] = out["model"].map(lambda m: names.get(m, m))
    return out


def _threshold_dots(
    points: pd.DataFrame, names: Mapping[str, str], x: tuple[str, str], y: tuple[str, str]
) -> alt.Chart:
    """One dot per model where the current threshold puts it; `x`/`y` are (column, tooltip title)."""
    return (
        alt.Chart(_named(points, names))
        .mark_point(size=110, filled=True, stroke="black", strokeWidth=1)
        .encode(
            x=alt.X(f"{x[0]}:Q"),
            y=alt.Y(f"{y[0]}:Q"),
            color=alt.Color("Model:N"),
            tooltip=[
                alt.Tooltip("Model:N"),
                alt.Tooltip("threshold:Q", title="Threshold", format=".2f"),
                alt.Tooltip(f"{x[0]}:Q", title=x[1], format=".3f"),
                alt.Tooltip(f"{y[0]}:Q", title=y[1], format=".3f"),
            ],
        )
    )


def roc_with_point(
    curves: pd.DataFrame, points: pd.DataFrame, names: Mapping[str, str]
) -> alt.LayerChart | alt.FacetChart:
    """Every model's ROC curve, each with a dot where the current threshold puts it."""
    dots = _threshold_dots(points, names, ("fpr", "False positive rate"), ("recall", "True positive rate"))
    return alt.layer(roc_chart(curves, names), dots).properties(height=HEIGHT)


def pr_with_point(
    curves: pd.DataFrame, points: pd.DataFrame, names: Mapping[str, str]
) -> alt.LayerChart | alt.FacetChart:
    """Every model's precision-recall curve with the current threshold's point."""
    dots = _threshold_dots(points, names, ("recall", "Recall"), ("precision", "Precision"))
    return alt.layer(pr_chart(curves, names), dots).properties(height=HEIGHT)


def profit_chart(curve: pd.DataFrame, threshold: float, best: Mapping[str, float]) -> alt.LayerChart | alt.FacetChart:
    """Expected benefit against threshold, the current threshold (grey) and the best one (green)."""
    data = curve[curve["threshold"] <= 1.0]
    line = (
        alt.Chart(data)
        .mark_line(color="#4c78a8")
        .encode(
            x=alt.X("threshold:Q", title="Threshold (flag customers at or above)", scale=UNIT),
            y=alt.Y("profit:Q", title="Expected benefit"),
            tooltip=[
                alt.Tooltip("threshold:Q", title="Threshold", format=".3f"),
                alt.Tooltip("profit:Q", title="Expected benefit", format=",.0f"),
                alt.Tooltip("flagged_share:Q", title="Share flagged", format=".1%"),
            ],
        )
    )
    marks = pd.DataFrame({"x": [threshold, best["threshold"]], "which": ["current", "best"]})
    rules = (
        alt.Chart(marks)
        .mark_rule(strokeWidth=2, strokeDash=[5, 3])
        .encode(
            x=alt.X("x:Q"),
            color=alt.Color(
                "which:N",
                title=None,
                scale=alt.Scale(domain=["current", "best"], range=["#777", "#2ca02c"]),
                legend=alt.Legend(orient="top"),
            ),
        )
    )
    return alt.layer(line, rules).properties(height=240, width="container")


def calibration_chart(table: pd.DataFrame, names: Mapping[str, str]) -> alt.LayerChart | alt.FacetChart:
    """Observed churn rate against mean predicted probability per bin; the diagonal is perfect calibration."""
    data = _named(table, names)
    diagonal = diagonal_line()
    lines = (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("mean_predicted:Q", title="Mean predicted churn probability", scale=UNIT),
            y=alt.Y("observed_rate:Q", title="Observed churn rate", scale=UNIT),
            color=alt.Color("Model:N", legend=alt.Legend(orient="bottom-right", title=None, fillColor="white")),
            tooltip=[
                alt.Tooltip("Model:N"),
                alt.Tooltip("mean_predicted:Q", title="Mean predicted", format=".3f"),
                alt.Tooltip("observed_rate:Q", title="Observed rate", format=".3f"),
                alt.Tooltip("count:Q", title="Customers"),
            ],
        )
    )
    return alt.layer(diagonal, lines).properties(height=HEIGHT, width="container")


def _contacted_axis() -> alt.X:
    """The x axis the gains and lift charts share: share of customers contacted, riskiest first."""
    return alt.X(
        "share_contacted:Q",
        title="Share of customers contacted (riskiest first)",
        scale=UNIT,
        axis=alt.Axis(format="%"),
    )


def gains_chart(gains: pd.DataFrame, names: Mapping[str, str]) -> alt.LayerChart | alt.FacetChart:
    """Cumulative gains: share of churners reached against share of customers contacted, riskiest first."""
    data = _named(gains, names)
    diagonal = diagonal_line()
    lines = (
        alt.Chart(data)
        .mark_line()
        .encode(
            x=_contacted_axis(),
            y=alt.Y("gain:Q", title="Share of churners reached", scale=UNIT, axis=alt.Axis(format="%")),
            color=alt.Color("Model:N", legend=alt.Legend(orient="bottom-right", title=None, fillColor="white")),
            tooltip=[
                alt.Tooltip("Model:N"),
                alt.Tooltip("share_contacted:Q", title="Contacted", format=".0%"),
                alt.Tooltip("gain:Q", title="Churners reached", format=".1%"),
                alt.Tooltip("lift:Q", title="Lift", format=".2f"),
            ],
        )
    )
    return alt.layer(diagonal, lines).properties(height=HEIGHT, width="container")


def lift_chart(gains: pd.DataFrame, names: Mapping[str, str]) -> alt.LayerChart | alt.FacetChart:
    """Lift: how many times more churners the top x% holds than a random x% would."""
    data = _named(gains, names)
    one = alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(strokeDash=[5, 5], color="#999").encode(y=alt.Y("y:Q"))
    lines = (
        alt.Chart(data)
        .mark_line()
        .encode(
            x=_contacted_axis(),
            y=alt.Y("lift:Q", title="Lift over random contact"),
            color=alt.Color("Model:N", legend=alt.Legend(orient="top-right", title=None, fillColor="white")),
            tooltip=[
                alt.Tooltip("Model:N"),
                alt.Tooltip("share_contacted:Q", title="Contacted", format=".0%"),
                alt.Tooltip("lift:Q", title="Lift", format=".2f"),
            ],
        )
    )
    return alt.layer(one, lines).properties(height=HEIGHT, width="container")


def score_distribution_chart(scores: pd.DataFrame, threshold: float) -> alt.LayerChart | alt.FacetChart:
    """Histogram of churn probabilities, churners and stayers side by side, with the threshold."""
    data = scores.copy()
    data["Actual"] = data["label"].map({1: "Churned", 0: "Stayed"})
    bars = (
        alt.Chart(data)
        .mark_bar(opacity=0.6, binSpacing=0)
        .encode(
            x=alt.X("lower:Q", title="Predicted churn probability", scale=UNIT, bin="binned"),
            x2=alt.X2("upper:Q"),
            y=alt.Y("count:Q", title="Customers", stack=None),
            color=alt.Color(
                "Actual:N",
                scale=alt.Scale(domain=["Churned", "Stayed"], range=["#d62728", "#1f77b4"]),
                legend=alt.Legend(orient="top", title=None),
            ),
            tooltip=[
                alt.Tooltip("Actual:N"),
                alt.Tooltip("lower:Q", title="From", format=".2f"),
                alt.Tooltip("upper:Q", title="To", format=".2f"),
                alt.Tooltip("count:Q", title="Customers"),
            ],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"x": [threshold]})).mark_rule(color="black", strokeDash=[4, 3]).encode(x=alt.X("x:Q"))
    )
    return alt.layer(bars, rule).properties(height=HEIGHT, width="container")

"""Altair chart builders: data in, chart out; no Streamlit and no file access.

Here and in the other `*_charts.py` modules, encodings are always channel objects
(`x=alt.X("a:Q")`, `y=alt.YValue(0)`), never shorthand strings or `alt.value(...)`: Altair
resolves a string or dict against its JSON schema, ~9 ms each against ~0.1 ms for the class,
which was most of a page's drawing time."""

from __future__ import annotations

from typing import Literal

import altair as alt
import pandas as pd

from dashboard.views.common import format_probability
from dashboard.views.customer.view import DECREASES, INCREASES
from runtime import sigmoid

RISK_COLORS = alt.Scale(domain=[INCREASES, DECREASES], range=["#d62728", "#1f77b4"])
ROW_HEIGHT = 30

# Vega expression writing a log-odds tick as the probability it stands for ("73%", "99.4%"), so
# the axis stays linear in what the effects add up (calibrated log-odds) yet reads as a probability.
_P = "(1 / (1 + exp(-datum.value)))"
_LOGODDS_AS_PROBABILITY = f"({_P} < 0.01 || {_P} > 0.99) ? format({_P}, '.1%') : format({_P}, '.0%')"
LEGEND = alt.Legend(orient="top", title=None, labelLimit=0, symbolType="square")


def waterfall_chart(df: pd.DataFrame) -> alt.LayerChart:
    """Horizontal waterfall from `views` rows (`waterfall_rows`): strongest reason on top, each bar
    spanning start→end in calibrated log-odds and labelled with its effect as an odds factor, red
    when it raises the churn risk, blue when it lowers it. The axis is written in probabilities."""
    data = _waterfall_data(df)
    y = alt.Y(
        "reason:N",
        sort=alt.EncodingSortField("rank", order="ascending"),
        title=None,
        axis=alt.Axis(labelLimit=320, labelFontSize=12),
    )
    x_axis = alt.Axis(
        labelExpr=_LOGODDS_AS_PROBABILITY, title="Probability of churning (log-odds scale)", tickCount=7, grid=True
    )
    base = alt.Chart(data)
    bars = base.mark_bar(cornerRadius=2).encode(
        y=y,
        x=alt.X("start:Q", scale=alt.Scale(zero=False, nice=True), axis=x_axis),
        x2=alt.X2("end:Q"),
        color=alt.Color("direction:N", scale=RISK_COLORS, legend=LEGEND),
        tooltip=[
            alt.Tooltip("label:N", title="Feature"),
            alt.Tooltip("value:N", title="Value"),
            alt.Tooltip("effect_text:N", title="Effect"),
            alt.Tooltip("probability_after:Q", title="Probability after", format=".1%"),
        ],
    )
    labels = base.mark_text(align="left", dx=4, fontSize=11, color="#444").encode(
        y=y, x=alt.X("tip:Q"), text=alt.Text("effect_text:N")
    )
    return (
        alt.layer(bars, labels, *_baseline_markers(data))
        # A fixed step per reason, so bars and their labels never get squeezed together.
        .properties(height=alt.Step(ROW_HEIGHT), width="container")
        .configure_view(strokeWidth=0)
    )


def _waterfall_data(df: pd.DataFrame) -> pd.DataFrame:
    """The rows plus what the chart writes: the probability after each bar, where its label sits."""
    data = df.copy()
    data["probability_after"] = sigmoid(data["end"].to_numpy(dtype=float))
    data["tip"] = data["end"].where(data["end"] >= data["start"], data["start"])
    return data


def _baseline_markers(data: pd.DataFrame) -> list[alt.Chart]:
    """Two dashed rules, at the baseline and at this customer's score; their captions point away
    from each other so they never collide."""
    base_value = float(data.loc[data["rank"].idxmax(), "start"]) if len(data) else 0.0
    final = float(data.loc[data["rank"].idxmin(), "end"]) if len(data) else 0.0
    markers = pd.DataFrame(
        {
            "x": [base_value, final],
            "text": [
                f"baseline {format_probability(float(sigmoid(base_value)))}",
                f"this customer {format_probability(float(sigmoid(final)))}",
            ],
        }
    )
    rules = alt.Chart(markers).mark_rule(strokeDash=[4, 3], color="#666").encode(x=alt.X("x:Q"))
    left, right = (0, 1) if base_value <= final else (1, 0)
    captions: tuple[tuple[int, Literal["left", "right"], int], ...] = ((left, "right", -2), (right, "left", 2))
    return [rules] + [
        alt.Chart(markers.iloc[[row]])
        .mark_text(dy=-10, dx=dx, align=align, fontSize=11, color="#333")
        .encode(x=alt.X("x:Q"), y=alt.YValue(0), text=alt.Text("text:N"))
        for row, align, dx in captions
    ]


def ice_chart(
    curves: pd.DataFrame, label: str, current_x: object, current_p: float, categorical: bool
) -> alt.LayerChart | alt.FacetChart:
    """This customer's ICE curve (dark line) over the population band (10th–90th percentile of the
    background customers' curves, shaded) and their mean, the partial dependence (dashed);
    the customer's current value marked with a dot."""
    kind = "N" if categorical else "Q"
    x = alt.X(f"x:{kind}", title=label, sort=None)
    y_scale = alt.Scale(domain=[0, 1])
    band = (
        alt.Chart(curves)
        .mark_area(opacity=0.25, color="#1f77b4")
        .encode(
            x=x,
            y=alt.Y("band_low:Q", title="Probability of churning", axis=alt.Axis(format=".0%"), scale=y_scale),
            y2=alt.Y2("band_high:Q"),
        )
    )
    if categorical:
        band = (
            alt.Chart(curves)
            .mark_bar(opacity=0.25, color="#1f77b4", width=30)
            .encode(
                x=x,
                y=alt.Y("band_low:Q", title="Probability of churning", axis=alt.Axis(format=".0%"), scale=y_scale),
                y2=alt.Y2("band_high:Q"),
            )
        )
    mean = alt.Chart(curves).mark_line(strokeDash=[5, 4], color="#1f77b4").encode(x=x, y=alt.Y("band_mid:Q"))
    own = (
        alt.Chart(curves)
        .mark_line(point=True, color="#222", strokeWidth=2)
        .encode(
            x=x,
            y=alt.Y("customer:Q"),
            tooltip=[
                alt.Tooltip("x:" + kind, title=label),
                alt.Tooltip("customer:Q", title="This customer", format=".1%"),
                alt.Tooltip("band_mid:Q", title="Average customer", format=".1%"),
            ],
        )
    )
    marker = pd.DataFrame({"x": [current_x], "customer": [current_p], "text": ["now"]})
    dot = alt.Chart(marker).mark_point(size=160, filled=True, color="#d62728").encode(x=x, y=alt.Y("customer:Q"))
    text = (
        alt.Chart(marker)
        .mark_text(dy=-14, color="#d62728", fontWeight="bold")
        .encode(x=x, y=alt.Y("customer:Q"), text=alt.Text("text:N"))
    )
    layers = [band, mean, own]
    if categorical or not isinstance(current_x, str):  # a missing number has no place on the axis
        layers += [dot, text]
    return alt.layer(*layers).properties(height=300, width="container")

"""Altair builders for the Global explanations page: data in, chart out; no Streamlit, no file access."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

VALUE_COLOURS = alt.Scale(scheme="redblue", reverse=True, domain=[0, 1])
LABEL_AXIS = alt.Axis(labelLimit=260, labelOverlap=False)  # every feature named, none hidden


def importance_chart(importance: pd.DataFrame) -> alt.Chart:
    """Mean |SHAP| per feature, largest on top."""
    return (
        alt.Chart(importance)
        .mark_bar(color="#4c78a8")
        .encode(
            y=alt.Y("label:N", sort=None, title=None, axis=LABEL_AXIS),
            x=alt.X("mean_abs_shap:Q", title="Mean |SHAP value| (log-odds)"),
            tooltip=[
                alt.Tooltip("label:N", title="Feature"),
                alt.Tooltip("mean_abs_shap:Q", title="Mean |SHAP|", format=".4f"),
            ],
        )
        .properties(height=alt.Step(22), width="container")
    )


def permutation_chart(importance: pd.DataFrame, order: list[str]) -> alt.LayerChart | alt.FacetChart:
    """Drop in the test metric when a feature is shuffled: bar = mean, whisker = ± one std."""
    data = importance.dropna(subset=["mean_drop"]).copy()
    data["low"] = data["mean_drop"] - data["std_drop"].fillna(0)
    data["high"] = data["mean_drop"] + data["std_drop"].fillna(0)
    y = alt.Y("label:N", sort=order, title=None, axis=LABEL_AXIS)
    bars = (
        alt.Chart(data)
        .mark_bar(color="#f58518")
        .encode(
            y=y,
            x=alt.X("mean_drop:Q", title="Drop in test score when shuffled"),
            tooltip=[
                alt.Tooltip("label:N", title="Feature"),
                alt.Tooltip("mean_drop:Q", title="Mean drop", format=".4f"),
                alt.Tooltip("std_drop:Q", title="Std of drop", format=".4f"),
            ],
        )
    )
    whiskers = alt.Chart(data).mark_rule(color="black").encode(y=y, x=alt.X("low:Q"), x2=alt.X2("high:Q"))
    return alt.layer(bars, whiskers).properties(height=alt.Step(22), width="container")


def beeswarm_chart(points: pd.DataFrame) -> alt.Chart:
    """One dot per customer and feature: x = SHAP value, row = feature (most important on top),
    colour = the customer's value of that feature (blue low … red high), jittered vertically."""
    return (
        alt.Chart(points)
        .mark_circle(size=14, opacity=0.6)
        .encode(
            x=alt.X("shap:Q", title="SHAP value (log-odds; right = raises churn risk)"),
            y=alt.Y("label:N", sort=alt.EncodingSortField("rank", order="ascending"), title=None, axis=LABEL_AXIS),
            yOffset=alt.YOffset("jitter:Q", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color(
                "colour:Q",
                scale=VALUE_COLOURS,
                title="Feature value (low → high)",
                legend=alt.Legend(orient="top", gradientLength=160),
            ),
            tooltip=[
                alt.Tooltip("label:N", title="Feature"),
                alt.Tooltip("value:N", title="Value"),
                alt.Tooltip("shap:Q", title="SHAP", format="+.3f"),
            ],
        )
        .transform_calculate(
            # Deterministic jitter from the row's SHAP value, so the same data always draws the same picture.
            jitter="abs(sin(datum.shap * 12345.678)) "
        )
        .properties(height=alt.Step(26), width="container")
    )


def dependence_chart(points: pd.DataFrame, feature_label: str, numeric: bool, colour_label: str | None) -> alt.Chart:
    """SHAP value of one feature against its value, coloured by the feature it interacts with most."""
    x = alt.X("x:Q" if numeric else "x:N", title=feature_label)
    tooltip = [alt.Tooltip("value:N", title=feature_label), alt.Tooltip("shap:Q", title="SHAP", format="+.3f")]
    encoding: dict[str, Any] = dict(
        x=x, y=alt.Y("shap:Q", title=f"SHAP value of {feature_label} (log-odds)"), tooltip=tooltip
    )
    if colour_label is not None and "colour" in points:
        encoding["color"] = alt.Color(
            "colour:Q",
            scale=VALUE_COLOURS,
            title=f"{colour_label} (low → high)",
            legend=alt.Legend(orient="top", gradientLength=160),
        )
        tooltip.append(alt.Tooltip("colour_value:N", title=colour_label))
    chart = alt.Chart(points).mark_circle(size=22, opacity=0.7)
    if not numeric:
        chart = chart.encode(xOffset=alt.XOffset("jitter:Q")).transform_calculate(
            jitter="abs(sin(datum.shap * 12345.678))"
        )
    return chart.encode(**encoding).properties(height=320, width="container")


def pdp_ice_chart(
    pdp: pd.DataFrame, ice: pd.DataFrame, feature_label: str, numeric: bool
) -> alt.LayerChart | alt.FacetChart:
    """Thin grey lines: each sampled customer's predicted churn as this feature alone changes (ICE);
    thick line: their average (PDP)."""
    x_field = "numeric_value:Q" if numeric else "value:N"
    x = alt.X(x_field, title=feature_label, sort=None)
    layers = []
    if len(ice):
        layers.append(
            alt.Chart(ice)
            .mark_line(color="#999", opacity=0.25, strokeWidth=1)
            .encode(
                x=x, y=alt.Y("probability:Q", title="Predicted churn probability"), detail=alt.Detail("customer_id:N")
            )
        )
    layers.append(
        alt.Chart(pdp)
        .mark_line(strokeWidth=3, point=True)
        .encode(
            x=x,
            y=alt.Y("average_probability:Q", title="Predicted churn probability"),
            color=alt.Color("curve:N", title=None, legend=alt.Legend(orient="top")),
            tooltip=[
                alt.Tooltip("curve:N", title="Line"),
                alt.Tooltip("value:N", title=feature_label),
                alt.Tooltip("average_probability:Q", title="Average probability", format=".3f"),
            ],
        )
    )
    return alt.layer(*layers).properties(height=320, width="container")

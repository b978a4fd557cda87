"""Altair builders for the Models page (ROC and precision-recall curves of every model);
the Validation page draws the same curves. Data in, chart out; no Streamlit, no file access."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import altair as alt
import pandas as pd


def diagonal_line() -> alt.Chart:
    """The dashed y = x line: chance on a ROC curve, perfect calibration, random targeting."""
    chance = pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]})
    return alt.Chart(chance).mark_line(strokeDash=[5, 5], color="#999").encode(x=alt.X("x:Q"), y=alt.Y("y:Q"))


def roc_chart(curves_df: pd.DataFrame, names: Mapping[str, str] | None = None) -> alt.LayerChart | alt.FacetChart:
    """ROC curve of every model (x = false positive rate, y = true positive rate) plus chance."""
    return _curve_chart(
        curves_df, "roc", names, "False positive rate", "True positive rate", diagonal=True, legend="bottom-right"
    )


def pr_chart(curves_df: pd.DataFrame, names: Mapping[str, str] | None = None) -> alt.LayerChart | alt.FacetChart:
    """Precision against recall for every model."""
    return _curve_chart(curves_df, "pr", names, "Recall", "Precision", diagonal=False, legend="bottom-left")


def _curve_chart(
    curves_df: pd.DataFrame,
    kind: str,
    names: Mapping[str, str] | None,
    x_title: str,
    y_title: str,
    diagonal: bool,
    legend: Literal["bottom-right", "bottom-left"],
) -> alt.LayerChart | alt.FacetChart:
    data = curves_df[curves_df["curve"] == kind].copy()
    data["Model"] = data["model"].map(lambda m: (names or {}).get(m, m))
    # Keep the stored point order: ROC/PR curves have ties in x, so sorting by x would zig-zag.
    data["step"] = data.groupby("model").cumcount()
    scale = alt.Scale(domain=[0, 1])
    lines = (
        alt.Chart(data)
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("x:Q", title=x_title, scale=scale),
            y=alt.Y("y:Q", title=y_title, scale=scale),
            # Inside the plot, in its empty corner, so long model names are never cut off.
            color=alt.Color(
                "Model:N",
                legend=alt.Legend(orient=legend, title=None, labelLimit=400, fillColor="white", padding=6),
            ),
            order=alt.Order("step:Q"),
            tooltip=[
                alt.Tooltip("Model:N"),
                alt.Tooltip("x:Q", title=x_title, format=".3f"),
                alt.Tooltip("y:Q", title=y_title, format=".3f"),
                alt.Tooltip("threshold:Q", title="Threshold", format=".3f"),
            ],
        )
    )
    layers = [lines]
    if diagonal:
        layers.insert(0, diagonal_line())
    return alt.layer(*layers).properties(height=360, width="container")

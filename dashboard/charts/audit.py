"""Altair builders for the Validation page's group metrics and error analysis: data in, chart out."""

from __future__ import annotations

import altair as alt
import pandas as pd

HEIGHT_PER_GROUP = 28


def group_interval_chart(
    table: pd.DataFrame, metric: str, title: str, population: float
) -> alt.LayerChart | alt.FacetChart:
    """One dot per group with its 95 % interval as a bar; the dashed line is the whole test split's value.
    Groups too small to judge are grey."""
    frame = pd.DataFrame(
        {
            "Group": table["group"].astype(str),
            "Value": table[metric],
            "Lower": table[f"{metric}_lower"],
            "Upper": table[f"{metric}_upper"],
            "Test customers": table["rows"].astype(int),
            "Status": [
                "too small to judge" if s else ("clearly worse" if w else "judged")
                for s, w in zip(table["small"], table["worse_on"] != "", strict=True)
            ],  # fmt: skip
        }
    )
    order = frame["Group"].tolist()
    y = alt.Y("Group:N", sort=order, title=None)
    colour = alt.Color(
        "Status:N",
        scale=alt.Scale(
            domain=["judged", "clearly worse", "too small to judge"], range=["#1f77b4", "#d62728", "#bbbbbb"]
        ),
        legend=alt.Legend(title=None, orient="bottom"),
    )
    tooltip = [
        alt.Tooltip("Group:N"),
        alt.Tooltip("Value:Q", title=title, format=".3f"),
        alt.Tooltip("Lower:Q", title="95 % interval from", format=".3f"),
        alt.Tooltip("Upper:Q", title="95 % interval to", format=".3f"),
        alt.Tooltip("Test customers:Q", format=","),
        alt.Tooltip("Status:N"),
    ]
    base = alt.Chart(frame)
    bars = base.mark_rule(strokeWidth=3).encode(
        x=alt.X("Lower:Q", title=title), x2="Upper:Q", y=y, color=colour, tooltip=tooltip
    )
    dots = base.mark_point(filled=True, size=80).encode(x="Value:Q", y=y, color=colour, tooltip=tooltip)
    line = alt.Chart(pd.DataFrame({"Whole test split": [population]})).mark_rule(strokeDash=[4, 4], color="black")
    line = line.encode(x="Whole test split:Q", tooltip=[alt.Tooltip("Whole test split:Q", format=".3f")])
    # A step per group, not a total height: Streamlit's stretched charts squeezed a fixed height's rows.
    return alt.layer(bars, dots, line).properties(height=alt.Step(HEIGHT_PER_GROUP))


def error_tree_chart(tree: pd.DataFrame, rate_title: str) -> alt.LayerChart | alt.FacetChart:
    """The error tree as an icicle: depth down, each node as wide as its share of the test rows, coloured
    by its error rate (or mean log loss); the text is the condition that leads to it."""
    frame = pd.DataFrame(
        {
            "x0": tree["x0"],
            "x1": tree["x1"],
            "Depth": tree["depth"].astype(int),
            "Depth end": tree["depth"].astype(int) + 1,
            "Condition": [c or "everyone" for c in tree["condition"]],
            "Cohort": [c or "everyone" for c in tree["cohort"]],
            "Test customers": tree["rows"].astype(int),
            "Rate": tree["rate"],
        }
    )
    base = alt.Chart(frame)
    rects = base.mark_rect(stroke="white", strokeWidth=1).encode(
        x=alt.X("x0:Q", axis=None, scale=alt.Scale(domain=[0, 1])),
        x2="x1:Q",
        y=alt.Y("Depth:Q", axis=alt.Axis(title="Depth", tickMinStep=1), scale=alt.Scale(reverse=True)),
        y2="Depth end:Q",
        color=alt.Color("Rate:Q", title=rate_title, scale=alt.Scale(scheme="reds")),
        tooltip=[
            alt.Tooltip("Cohort:N"),
            alt.Tooltip("Test customers:Q", format=","),
            alt.Tooltip("Rate:Q", title=rate_title, format=".3f"),
        ],
    )
    text = base.transform_calculate(mid="(datum.x0 + datum.x1) / 2", y_mid="datum.Depth + 0.5").mark_text(
        fontSize=10, limit=110
    )
    text = text.encode(x="mid:Q", y="y_mid:Q", text="Condition:N")
    return alt.layer(rects, text).properties(height=260)

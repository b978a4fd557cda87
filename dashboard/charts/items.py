"""Altair builder for the item map: pure, no Streamlit, no I/O."""

from __future__ import annotations

import altair as alt
import pandas as pd

ROLE_ORDER = ["query", "neighbour", "other"]
ROLE_SIZES = [260, 90, 14]


def item_map_chart(points: pd.DataFrame, title: str = "") -> alt.LayerChart | alt.FacetChart:
    """Scatter of items coloured by main genre; the query and its neighbours drawn large and outlined.

    Zoom and pan with the mouse (scales bound to the view); tooltips show title, year and genres.
    """
    tooltip = [
        alt.Tooltip("title:N", title="Title"),
        alt.Tooltip("year:Q", title="Year", format="d"),
        alt.Tooltip("genres:N", title="Genres"),
        alt.Tooltip("item_id:N", title="ID"),
    ]
    base = alt.Chart(points).encode(
        x=alt.X("x:Q", axis=None),
        y=alt.Y("y:Q", axis=None),
        tooltip=tooltip,
    )
    others = (
        base.transform_filter(alt.datum.role == "other")
        .mark_circle(opacity=0.45, size=ROLE_SIZES[2])
        .encode(
            color=alt.Color("main_genre:N", title="Main genre", scale=alt.Scale(scheme="tableau20")),
        )
    )
    marked = (
        base.transform_filter(alt.datum.role != "other")
        .mark_point(filled=True, opacity=0.95, stroke="black", strokeWidth=1.5)
        .encode(
            color=alt.Color("main_genre:N", title="Main genre", scale=alt.Scale(scheme="tableau20")),
            size=alt.Size(
                "role:N", scale=alt.Scale(domain=ROLE_ORDER, range=ROLE_SIZES), legend=alt.Legend(title="Highlighted")
            ),
            shape=alt.Shape(
                "role:N", scale=alt.Scale(domain=ROLE_ORDER, range=["diamond", "circle", "circle"]), legend=None
            ),
        )
    )
    labels = (
        base.transform_filter(alt.datum.role == "query")
        .mark_text(dy=-14, fontWeight="bold")
        .encode(text=alt.Text("title:N"))
    )
    return (
        alt.layer(others, marked, labels).properties(height=520, title=title).interactive()  # zoom and pan
    )

"""A tiny app that draws only the Customer-page item section, for AppTest (the lead wires it
into the Customer page). The Items page is registered so the section's links resolve."""

from pathlib import Path

import streamlit as st

from bundle.reader import open_bundle
from dashboard.app_pages.customer_items import draw_customer_items

REPO = Path(__file__).resolve().parents[2]


def section() -> None:
    bundle = open_bundle(Path(st.query_params["root"]) / st.query_params["bundle"])
    raw = st.query_params["customer"]
    draw_customer_items(bundle, int(raw) if bundle.manifest["dataset"]["id_type"] == "int" else raw)


st.navigation(
    [
        st.Page(section, title="Customer", default=True),
        st.Page(REPO / "dashboard" / "app_pages" / "items.py", title="Items"),
    ]
).run()

"""A tiny app that draws only the Customer-page item section, for AppTest (the lead wires it
into the Customer page). The Items page is registered so the section's links resolve."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import streamlit as st  # noqa: E402

from bundle.reader import open_bundle  # noqa: E402
from dashboard.sections.customer_items import draw_customer_items  # noqa: E402


def section() -> None:
    bundle = open_bundle(Path(st.query_params["root"]) / st.query_params["bundle"])
    raw = st.query_params["customer"]
    draw_customer_items(bundle, int(raw) if bundle.manifest["dataset"]["id_type"] == "int" else raw)


st.navigation([st.Page(section, title="Customer", default=True), st.Page(REPO / "dashboard" / "app_pages" / "items.py", title="Items")]).run()

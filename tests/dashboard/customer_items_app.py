"""A tiny app that draws only the Customer-page item section, for AppTest (the lead wires it into the page)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import streamlit as st  # noqa: E402

from bundle.reader import open_bundle  # noqa: E402
from dashboard.sections.customer_items import draw_customer_items  # noqa: E402

bundle = open_bundle(st.query_params["root"] + "/" + st.query_params["bundle"])
raw = st.query_params["customer"]
draw_customer_items(bundle, int(raw) if bundle.manifest["dataset"]["id_type"] == "int" else raw)

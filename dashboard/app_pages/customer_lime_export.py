"""The Customer page's LIME check and export tabs: drawing only; numbers from `dashboard.views.customer`."""

from __future__ import annotations

import numpy as np
import streamlit as st

from bundle.reader import Bundle
from dashboard.app_pages.customer_sections import LIME_RESULT_KEY, LIME_RUN_KEY, LIME_SAMPLES_KEY, population_of
from dashboard.charts import customer as charts
from dashboard.shell.plain import inert
from dashboard.views.common import feature_labels
from dashboard.views.customer.lime_check import (
    DEFAULT_SAMPLES,
    MAX_SAMPLES,
    MIN_SAMPLES,
    agreement,
    agreement_note,
    comparison_table,
    explain_lime,
)
from dashboard.views.customer.report import chart_svg, customer_report, explanation_csv, export_name
from dashboard.views.customer.view import CustomerView
from runtime import ModelRuntime

# --- LIME ---------------------------------------------------------------------------------


def draw_lime(bundle: Bundle, runtime: ModelRuntime, view: CustomerView) -> None:
    st.markdown(
        "A second opinion: LIME explains the customer by trying thousands of variations of their row and "
        "fitting a simple local model. Where it agrees with SHAP, the reasons are robust."
    )
    samples = st.number_input(
        "Samples", min_value=MIN_SAMPLES, max_value=MAX_SAMPLES, value=DEFAULT_SAMPLES, step=500, key=LIME_SAMPLES_KEY
    )
    wanted = (str(view.customer_id), view.model, int(samples))
    if st.button("Run LIME", key=LIME_RUN_KEY):
        result = explain_lime(runtime, bundle.manifest, view.raw_features, population_of(bundle).rows, int(samples))
        st.session_state[LIME_RESULT_KEY] = (wanted, result)
    stored = st.session_state.get(LIME_RESULT_KEY)
    if not stored or stored[0] != wanted:
        st.caption("LIME runs on demand (about a tenth of a second at 5,000 samples).")
        return
    result = stored[1]
    labels = feature_labels(bundle.manifest)
    check = agreement(view.effects, result.weights)
    c1, c2, c3 = st.columns(3)
    c1.metric(
        "Same direction",
        f"{check.sign_agreement:.0%}",
        help=f"Share of the top {check.k} SHAP reasons whose LIME weight points the same way.",
    )
    c2.metric(
        "Rank agreement",
        "n/a" if np.isnan(check.rank_correlation) else f"{check.rank_correlation:+.2f}",
        help="Spearman rank correlation of how strongly each method weighs those reasons "
        "(1 = same order of importance).",
    )
    c3.metric("LIME took", f"{result.seconds * 1000:,.0f} ms", help=f"{result.samples:,} samples, seed 0.")
    note = agreement_note(check, labels)
    (st.warning if check.disagreeing else st.success)(inert(note, None))
    st.dataframe(comparison_table(view.effects, result.weights, labels), hide_index=True, width="stretch")
    st.caption(
        "Both effects are odds factors on the same calibrated log-odds. SHAP's compares the customer's value "
        "with the average customer, exactly for this model; LIME's compares it with the other values of its "
        "random variations (bins of numbers, other categories), from a local linear fit. Sizes differ by "
        "design: compare directions and order."
    )


# --- export -------------------------------------------------------------------------------


def draw_export(bundle: Bundle, view: CustomerView) -> None:
    stored = st.session_state.get(LIME_RESULT_KEY)
    lime = stored[1].weights if stored and stored[0][:2] == (str(view.customer_id), view.model) else None
    # Both files are made on click, for this session (its websocket asks for them), and never
    # exist before: nothing sits under /media for someone who only has a URL (README, "Serving
    # on a shared URL").
    st.download_button(
        "Download explanation (CSV)",
        lambda: explanation_csv(bundle.manifest, view.raw_features, view.effects, lime),
        file_name=export_name(bundle.name, bundle.run_id, view.customer_id, "csv"),
        mime="text/csv",
        key="download_csv",
        on_click="ignore",
    )
    st.download_button(
        "Download report (HTML)",
        lambda: build_report(bundle, view, lime),
        file_name=export_name(bundle.name, bundle.run_id, view.customer_id, "html"),
        mime="text/html",
        key="download_html",
        on_click="ignore",
    )
    st.caption(
        "The report opens offline: charts are embedded as pictures. The CSV's LIME column fills once LIME has run."
    )


def build_report(bundle: Bundle, view: CustomerView, lime: dict | None) -> str:
    svgs = {"Reasons (effects on the odds of churning)": chart_svg(charts.waterfall_chart(view.waterfall))}
    lime_note = None
    if lime is not None:
        lime_note = agreement_note(agreement(view.effects, lime), feature_labels(bundle.manifest))
    return customer_report(view, bundle.name, bundle.run_id, svgs, lime_note)

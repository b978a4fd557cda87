"""Models page: how every model in the bundle did on the test split."""

from __future__ import annotations

import streamlit as st

from bundle.reader import BundleError
from dashboard.charts import models as charts
from dashboard.shell import data, draw
from dashboard.shell.plain import inert
from dashboard.views import METRIC_COLUMNS, TRAINING_TIME, build_metrics_table, model_display_names
from dashboard.views.models import champion_reason


def render() -> None:
    bundle = st.session_state[data.ACTIVE_BUNDLE_KEY]
    manifest = bundle.manifest
    test_rows = manifest["split"].get("test_rows")
    rows_text = f"{test_rows:,} customers" if isinstance(test_rows, int) else "customers"
    # The Validation page's sentence (the training run's own rule, or for older bundles the champion
    # metric and the margin); it names models and figures from the bundle: made inert, never Markdown.
    picked = f"Why the champion: {inert(champion_reason(manifest), limit=None)}"
    st.title("Models")
    st.caption(f"Scored on the test split ({rows_text}) of bundle '{inert(bundle.name)}'. {picked}")

    table = build_metrics_table(manifest)
    number_format = {title: st.column_config.NumberColumn(format="%.3f") for title in METRIC_COLUMNS.values()}
    number_format[TRAINING_TIME] = st.column_config.NumberColumn(format="%.2f")
    st.dataframe(table, hide_index=True, width="stretch", column_config=number_format)

    try:
        curves = data.load_curves(bundle)
    except BundleError as exc:
        st.error(inert(exc, 600))
        return
    names = model_display_names(manifest)
    roc_col, pr_col = st.columns(2, gap="large")
    with roc_col:
        st.markdown("**ROC curves**")
        draw.altair_chart(charts.roc_chart(curves, names), width="stretch")
    with pr_col:
        st.markdown("**Precision–recall curves**")
        draw.altair_chart(charts.pr_chart(curves, names), width="stretch")


render()

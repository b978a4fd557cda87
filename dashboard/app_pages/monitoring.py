"""Monitoring page (data scientists): the population across the bundle's history of scored snapshots.

Draws only what each snapshot stored when it was appended (`dashboard.views.monitoring`): no model runs
here. URL state: `?snapshot=` (the snapshot shown against the one before it), `?model=`.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from bundle.reader import BundleError
from dashboard.charts import history as charts
from dashboard.shell import data, draw
from dashboard.shell.model_pick import pick_model
from dashboard.shell.plain import inert
from dashboard.views.customer.history import SIMULATED_NOTE
from dashboard.views.monitoring import MonitoringView, build_monitoring_view

SNAPSHOT_PARAM = "snapshot"
SNAPSHOT_KEY = "monitoring_snapshot"
MOVED_KEY = "monitoring_moved"
CUSTOMER_PAGE = Path(__file__).resolve().parent / "customer.py"


def render() -> None:
    bundle = st.session_state[data.ACTIVE_BUNDLE_KEY]
    st.title("Monitoring")
    try:
        store = data.load_snapshot_history(bundle)
    except BundleError as exc:
        st.error(inert(exc, 600))
        return
    if len(store) == 0:
        st.info(
            "This bundle has no history yet. Score new data into it with "
            "`python -m training score --bundle NAME --input FILE --snapshot LABEL` (docs/history.md)."
        )
        return
    model = pick_model(bundle.manifest, "monitoring_model", help="Figures of this model in every snapshot.")
    labels = [s.label for s in store.snapshots]
    if SNAPSHOT_KEY not in st.session_state or st.session_state[SNAPSHOT_KEY] not in labels:
        requested = st.query_params.get(SNAPSHOT_PARAM)
        st.session_state[SNAPSHOT_KEY] = requested if requested in labels else labels[-1]
    selected = st.selectbox("Snapshot", labels, key=SNAPSHOT_KEY, help="Compared with the snapshot before it.")
    if st.query_params.get(SNAPSHOT_PARAM) != selected:
        st.query_params[SNAPSHOT_PARAM] = selected
    view = build_monitoring_view(store.snapshots, model, selected)
    _draw(bundle.name, view)


def _draw(bundle_name: str, view: MonitoringView) -> None:
    if view.simulated:
        st.caption(SIMULATED_NOTE)
    if view.generation_changes:
        st.caption(inert(f"Model retrained before snapshot(s): {', '.join(view.generation_changes)}.", None))
    st.subheader("Scores")
    left, right = st.columns(2)
    with left:
        draw.altair_chart(
            charts.over_time(view.trend, "value", "Customers (%)", "measure", view.labels), width="stretch"
        )
        st.caption("Share of customers flagged at the model's threshold, and the mean probability, in %.")
    with right:
        draw.altair_chart(charts.score_histogram(view.histogram, view.threshold), width="stretch")
        st.caption(
            inert(f"{view.selected}: {view.rows:,} customers per 5-point probability bin; "
                  f"red line: the threshold ({view.threshold:.0%}).", None)
        )  # fmt: skip
    st.subheader("Feature drift")
    st.caption("PSI against the training customers: ≥ 0.10 watch, ≥ 0.25 act; missing-rate change ≥ 5 pts watch.")
    st.dataframe(view.feature_drift, hide_index=True, width="stretch",
                 column_config={"PSI": st.column_config.NumberColumn(format="%.3f")})  # fmt: skip
    st.subheader("Explanation drift")
    st.caption(
        "Mean |SHAP| per feature (log-odds) and the share of customers whose main reason is each feature (%), "
        "over time; SHAP PSI: each feature's SHAP values against the training customers', same flags."
    )
    left, right = st.columns(2)
    with left:
        chart = charts.over_time(view.mean_abs_shap, "value", "Mean |SHAP| (log-odds)", "feature", view.labels)
        draw.altair_chart(chart, width="stretch")
    with right:
        chart = charts.over_time(view.main_reason, "value", "Main reason (% of customers)", "feature", view.labels)
        draw.altair_chart(chart, width="stretch")
    st.dataframe(view.explanation_drift, hide_index=True, width="stretch",
                 column_config={"SHAP PSI": st.column_config.NumberColumn(format="%.3f")})  # fmt: skip
    _draw_moved(bundle_name, view)


def _draw_moved(bundle_name: str, view: MonitoringView) -> None:
    st.subheader("Moved risk band")
    if view.previous is None:
        st.caption(inert(f"{view.selected} is the first snapshot: nothing to compare with.", None))
        return
    counts = ", ".join(f"{k}: {v:,}" for k, v in view.moved_counts.items()) or "none"
    st.caption(
        inert(f"Since {view.previous}: {view.moved_total:,} customers changed band ({counts}); "
              f"the {len(view.moved):,} largest changes (pts) are listed.", None)
    )  # fmt: skip
    st.dataframe(view.moved, hide_index=True, width="stretch")
    if view.moved.empty:
        return
    customer = st.selectbox("Customer", view.moved["Customer"].tolist(), key=MOVED_KEY)
    if st.button("Open on the Customer page", key="monitoring_open") and customer is not None:
        st.session_state[data.CUSTOMER_BOX_KEY] = customer
        st.switch_page(
            CUSTOMER_PAGE, query_params={"bundle": bundle_name, "customer": customer, SNAPSHOT_PARAM: view.selected}
        )


render()

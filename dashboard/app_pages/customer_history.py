"""The Customer page's history section: the customer's probability per snapshot and why it moved.

Draws only; `dashboard.views.customer.history` computes. `?snapshot=` picks the snapshot compared with the
one before it (default: the latest), so a link shows the same comparison.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from bundle.reader import Bundle, BundleError
from dashboard.charts.history import probability_line
from dashboard.shell import data, draw
from dashboard.shell.plain import inert
from dashboard.views.customer.history import SIMULATED_NOTE, build_history_view
from runtime import ModelRuntime

SNAPSHOT_PARAM = "snapshot"
CHANGES_SHOWN = 8


def draw_history(bundle: Bundle, customer_id: int | str, model: str, runtime: ModelRuntime) -> None:
    try:
        store = data.load_snapshot_history(bundle)
        view = build_history_view(bundle, store, customer_id, model, runtime, st.query_params.get(SNAPSHOT_PARAM))
    except BundleError as exc:
        st.warning(inert(exc, 600))
        return
    if view is None:
        return
    st.markdown("**History**")
    if view.simulated:
        st.caption(SIMULATED_NOTE)
    draw.altair_chart(probability_line(view.chart, view.cuts), width="stretch")
    st.caption(
        "Churn probability (%) in each snapshot; dashed lines are the risk-band cut-offs (%). "
        "A snapshot without this customer leaves a gap: nothing is interpolated."
    )
    st.markdown(inert(view.headline, None))
    if view.model_text:
        st.info(inert(view.model_text, None))
    if not view.changes:
        return
    rows = [{"What changed": c.words, "Effect (log-odds)": c.effect} for c in view.changes[:CHANGES_SHOWN]]
    rest = view.changes[CHANGES_SHOWN:]
    if rest:
        rows.append({"What changed": f"{len(rest)} other features", "Effect (log-odds)": sum(c.effect for c in rest)})
    rows.append({"What changed": "Rounding (the model's own additivity gap)", "Effect (log-odds)": view.remainder})
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={"Effect (log-odds)": st.column_config.NumberColumn(format="%+.3f")},
    )
    st.caption(
        inert(
            f"{view.log_odds_text} (calibrated log-odds). Each row is the change in that feature's SHAP value "
            "times the calibration slope; together they add up to the change in log-odds exactly.",
            None,
        )
    )

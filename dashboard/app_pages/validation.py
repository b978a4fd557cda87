"""Validation page: how good is each model on the test split, and where should the threshold be?

`?model=` and `?threshold=` carry the chosen model and threshold, so a view can be shared; the group
metrics and error analysis sections (`validation_audit.py`) add `?group=`, `?errors=` and `?cohort=`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from bundle.reader import BundleError
from dashboard.app_pages.validation_audit import draw_audit
from dashboard.charts import validation as validation_charts
from dashboard.shell import data, draw
from dashboard.shell.model_pick import pick_model
from dashboard.shell.plain import inert
from dashboard.views.models import METRIC_COLUMNS, TRAINING_TIME, model_display_names
from dashboard.views.validation import (
    CALIBRATION_TABLE,
    SCORE_DISTRIBUTION_TABLE,
    Costs,
    ThresholdError,
    ValidationView,
    build_validation_view,
    parse_threshold,
)

MODEL_KEY = "validation_model"
THRESHOLD_KEY = "validation_threshold"


def _chosen_threshold(default: float) -> float:
    requested = st.query_params.get("threshold")
    if THRESHOLD_KEY not in st.session_state:
        value = default
        if requested is not None:
            try:
                value = parse_threshold(requested)
            except ThresholdError as exc:
                st.warning(f"{inert(exc)} Using the model's threshold {default:.2f}.")
        st.session_state[THRESHOLD_KEY] = round(value, 2)
    threshold = st.slider(
        "Threshold: flag customers whose churn probability is at or above it",
        min_value=0.0,
        max_value=1.0,
        step=0.01,
        key=THRESHOLD_KEY,
    )
    st.query_params["threshold"] = f"{threshold:.2f}"
    return float(threshold)


def _use_threshold(value: float) -> None:
    # Runs before the next script run, so the slider is created with the new value.
    st.session_state[THRESHOLD_KEY] = round(min(max(value, 0.0), 1.0), 2)


def render() -> None:
    bundle = st.session_state[data.ACTIVE_BUNDLE_KEY]
    manifest = bundle.manifest
    names = model_display_names(manifest)
    st.title("Validation")
    test_rows = manifest["split"].get("test_rows")
    st.caption(
        f"Every figure on this page is measured on the held-out test split"
        f"{f' ({test_rows:,} customers)' if isinstance(test_rows, int) else ''}."
    )
    try:
        scores = data.load_test_scores(bundle)
        curves = data.load_curves(bundle)
        calibration = data.load_optional_table(bundle, CALIBRATION_TABLE)
        distribution = data.load_optional_table(bundle, SCORE_DISTRIBUTION_TABLE)
    except BundleError as exc:
        st.error(f"The test scores of bundle '{inert(bundle.name)}' can't be read: {inert(exc)}")
        return

    left, right = st.columns([1, 2], gap="large")
    with left:
        model, threshold, costs = _controls(manifest)
    view = build_validation_view(
        manifest, scores, model, threshold, costs, calibration=calibration, score_distribution=distribution
    )
    with right:
        _draw_threshold(view, threshold)
    _draw_separation(view, curves, names)
    _draw_calibration(view, names, model, threshold)
    _draw_gains(view, names)
    _draw_comparison(view)
    draw_audit(bundle, model, threshold)


def _controls(manifest: dict) -> tuple[str, float, Costs]:
    model = pick_model(manifest, MODEL_KEY)
    threshold = _chosen_threshold(float(manifest["models"][model]["threshold"]))
    st.markdown("**Cost of acting on the flags**")
    offer_cost = st.number_input("Cost of one retention offer", min_value=0.0, value=10.0, step=5.0)
    saved_value = st.number_input(
        "Value of keeping a customer who would have churned", min_value=0.0, value=200.0, step=10.0
    )
    success = st.slider("Share of contacted churners the offer keeps", 0.0, 1.0, 0.3, 0.05)
    return model, threshold, Costs(offer_cost, saved_value, success)


def _draw_threshold(view: ValidationView, threshold: float) -> None:
    point = view.point
    cols = st.columns(4)
    cols[0].metric("Precision", f"{point['precision']:.1%}")
    cols[1].metric("Recall", f"{point['recall']:.1%}")
    cols[2].metric("F1", f"{point['f1']:.3f}")
    cols[3].metric("Customers flagged", f"{point['flagged_share']:.1%}")
    st.markdown(f"**Confusion matrix at threshold {threshold:.2f}**")
    # A static table: four numbers read better as text than in an interactive grid.
    st.table(view.confusion)
    st.caption("Rows: what the customer actually did; columns: whether the model flagged them.")
    best = view.best
    benefit_col, best_col = st.columns(2)
    benefit_col.metric("Expected benefit at this threshold", f"{view.current_profit:,.0f}")
    best_col.metric(
        "Best threshold",
        f"{best['threshold']:.2f}",
        help=(f"Expected benefit {best['profit']:,.0f}, flagging {best['flagged_share']:.1%} of customers"),
    )
    st.button(
        f"Move the slider to the best threshold ({best['threshold']:.2f})",
        on_click=_use_threshold,
        args=(best["threshold"],),
        disabled=round(best["threshold"], 2) == round(threshold, 2),
    )
    draw.altair_chart(validation_charts.profit_chart(view.profit, threshold, best), width="stretch")
    st.caption(
        "Expected benefit = churners flagged × offer success rate × value saved − customers flagged × offer "
        "cost. The green line marks the threshold that maximises it; the grey one is the slider."
    )


def _draw_separation(view: ValidationView, curves: pd.DataFrame, names: dict[str, str]) -> None:
    st.subheader("How the models separate churners")
    roc_col, pr_col = st.columns(2, gap="large")
    with roc_col:
        draw.altair_chart(validation_charts.roc_with_point(curves, view.points, names), width="stretch")
        st.caption("ROC: higher and further left is better; each dot is its model at the current threshold.")
    with pr_col:
        draw.altair_chart(validation_charts.pr_with_point(curves, view.points, names), width="stretch")
        st.caption("Precision–recall: higher and further right is better; dots are the current threshold.")


def _draw_calibration(view: ValidationView, names: dict[str, str], model: str, threshold: float) -> None:
    st.subheader("Are the probabilities right?")
    cal_col, dist_col = st.columns(2, gap="large")
    with cal_col:
        draw.altair_chart(validation_charts.calibration_chart(view.calibration, names), width="stretch")
        brier = ", ".join(f"{names.get(m, m)} {b:.3f}" for m, b in view.brier.items())
        st.caption(
            "Calibration: points on the dashed diagonal mean a predicted 30% churns 30% of the time. "
            f"Brier score (lower is better): {inert(brier)}."
        )
        if not view.precomputed["calibration"]:
            st.caption("This bundle was trained without a calibration table; bins computed from its predictions.")
    with dist_col:
        draw.altair_chart(validation_charts.score_distribution_chart(view.scores, threshold), width="stretch")
        st.caption(
            f"Scores of {inert(names.get(model, model))} by actual outcome: the less the colours overlap, the better "
            "the separation; the dashed line is the threshold."
        )


def _draw_gains(view: ValidationView, names: dict[str, str]) -> None:
    st.subheader("Who to contact first")
    gains_col, lift_col = st.columns(2, gap="large")
    with gains_col:
        draw.altair_chart(validation_charts.gains_chart(view.gains, names), width="stretch")
        st.caption("Cumulative gains: contacting the riskiest x% of customers reaches y% of all churners.")
    with lift_col:
        draw.altair_chart(validation_charts.lift_chart(view.gains, names), width="stretch")
        st.caption("Lift: how many times more churners the riskiest x% holds than a random x% would.")


def _draw_comparison(view: ValidationView) -> None:
    st.subheader("Model comparison")
    # The rule's sentence names models and figures from the bundle: plain text, never Markdown.
    st.caption(inert(f"Why this champion: {view.champion_reason}", limit=None))
    number_format = {title: st.column_config.NumberColumn(format="%.3f") for title in METRIC_COLUMNS.values()}
    number_format[TRAINING_TIME] = st.column_config.NumberColumn(format="%.2f")
    st.dataframe(view.comparison, hide_index=True, width="stretch", column_config=number_format)
    st.caption("Test-split metrics of every model; precision, recall and F1 at each model's own threshold.")
    _draw_calibration_summary(view)


def _draw_calibration_summary(view: ValidationView) -> None:
    st.markdown("**Calibration on the test split**")
    table = view.calibration_summary
    three = st.column_config.NumberColumn(format="%.3f")
    number_format = {
        c: three for c in table.columns if c.endswith((" before", " after")) or c in ("Slope", "Intercept")
    }
    number_format["Validation rows"] = st.column_config.NumberColumn(format="%d")
    st.dataframe(table, hide_index=True, width="stretch", column_config=number_format)
    st.caption(
        "Each model's own log-odds (what its SHAP values add up to) become the probability shown through "
        "Platt scaling: probability = sigmoid(slope × log-odds + intercept), fitted on the validation rows "
        "carved out of the training split (never on the test split). 'Before' is sigmoid of the model's "
        "own log-odds, 'after' the calibrated probability every page shows; lower is better for all three. "
        "ECE is the expected calibration error: the gap between predicted and observed churn rates, "
        "averaged over ten probability bins weighted by their customers. The slope is positive, so "
        "calibration never reorders customers and ROC AUC is unchanged."
    )


render()

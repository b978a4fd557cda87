"""Global explanations page: what drives churn predictions across customers, or a cohort of them.

`?model=`, `?feature=` and `?cohort=` (e.g. `contract:Month-to-month;tenure<12`) travel in the URL.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from analytics.cohort import MAX_LENGTH, CohortError, Condition, cohort_text, parse_cohort
from bundle.reader import BundleError
from dashboard.charts import global_explanations as global_charts
from dashboard.shell import data, draw
from dashboard.shell.model_pick import pick_model
from dashboard.shell.plain import inert
from dashboard.views.global_explanations.view import (
    ICE_TABLE,
    PDP_TABLE,
    PERMUTATION_TABLE,
    ExplainData,
    GlobalView,
    build_global_view,
)

MODEL_KEY = "global_model"
FEATURE_KEY = "global_feature"
COHORT_KEY = "global_cohort"
RETRAIN = "retrain it with this version of churnlens to see it."


def render() -> None:
    bundle = st.session_state[data.ACTIVE_BUNDLE_KEY]
    manifest = bundle.manifest
    st.title("Global explanations")
    try:
        explain = data.load_explain_data(bundle)
        permutation, pdp, ice = (data.load_optional_table(bundle, t) for t in (PERMUTATION_TABLE, PDP_TABLE, ICE_TABLE))
    except BundleError as exc:
        st.error(f"The SHAP values of bundle '{inert(bundle.name)}' can't be read: {inert(exc)}")
        return
    model, conditions = _controls(manifest)
    requested_feature = st.session_state.get(FEATURE_KEY) or st.query_params.get("feature")
    view = build_global_view(explain, model, conditions, requested_feature, permutation, pdp, ice)
    if not _draw_cohort(view, conditions, explain):
        return
    _draw_importance(view)
    _draw_beeswarm(view)
    _draw_feature(manifest, view, lambda f: build_global_view(explain, model, conditions, f, permutation, pdp, ice))


def _controls(manifest: dict) -> tuple[str, list[Condition]]:
    """The model picker and the cohort box (both in the URL); an unusable cohort shows all customers."""
    features = manifest["features"]
    controls = st.columns([1, 2], gap="large")
    with controls[0]:
        model = pick_model(manifest, MODEL_KEY)
    with controls[1]:
        if COHORT_KEY not in st.session_state:
            st.session_state[COHORT_KEY] = str(st.query_params.get("cohort", ""))[: MAX_LENGTH + 1]
        raw = st.text_input(
            "Cohort (optional)",
            key=COHORT_KEY,
            placeholder="contract:Month-to-month;tenure<12",
            help="Conditions joined by ';' — feature:value, feature!=value, or feature<, <=, >, >= number. "
            "Feature names: " + ", ".join(f["name"] for f in features),
        )
    try:
        conditions = parse_cohort(raw, features)
    except CohortError as exc:
        st.error(f"The cohort can't be used: {inert(exc, limit=400)} Showing all customers.")
        conditions = []
    if conditions:
        st.query_params["cohort"] = cohort_text(conditions)
    elif "cohort" in st.query_params and not raw.strip():
        del st.query_params["cohort"]
    return model, conditions


def _draw_cohort(view: GlobalView, conditions: list[Condition], explain: ExplainData) -> bool:
    """The cohort's size and rates; False (after a warning) when no customer is in it."""
    cohort_label = " and ".join(c.text() for c in conditions) or "all customers"
    if view.cohort_size == 0:
        st.warning(f"No customer matches {inert(cohort_label)}. Loosen the conditions.")
        return False
    size_col, rate_col, prob_col = st.columns(3)
    size_col.metric("Customers in cohort", f"{view.cohort_size:,}")
    rate_col.metric("Churn rate", f"{view.cohort_churn_rate:.1%}")
    prob_col.metric("Mean predicted churn", f"{view.cohort_mean_probability:.1%}")
    st.caption(f"Cohort: {inert(cohort_label)}. Every view below is restricted to it, from stored SHAP values.")
    if explain.sampled:
        st.caption(
            f"This bundle has {explain.total:,} customers: the figures on this page come from a fixed random "
            f"sample of {len(explain.frame):,} of them (cohort counts are counts within the sample)."
        )
    return True


def _draw_importance(view: GlobalView) -> None:
    st.subheader("Which features matter")
    shap_col, perm_col = st.columns(2, gap="large")
    with shap_col:
        draw.altair_chart(global_charts.importance_chart(view.importance), width="stretch")
        st.caption("Mean |SHAP|: how far, on average, each feature moves a customer's churn log-odds.")
    with perm_col:
        if "mean_drop" in view.importance and view.importance["mean_drop"].notna().any():
            order = view.importance["label"].tolist()
            draw.altair_chart(global_charts.permutation_chart(view.importance, order), width="stretch")
            st.caption(
                "Permutation importance (whole test split, not the cohort): how much the test score drops when the "
                "feature is shuffled; whiskers are ± one standard deviation over repeats."
            )
        else:
            st.info(f"This bundle was trained without permutation importance; {RETRAIN}")


def _draw_beeswarm(view: GlobalView) -> None:
    st.subheader("Every customer's SHAP values")
    points = view.beeswarm
    draw.altair_chart(global_charts.beeswarm_chart(points), width="stretch")
    st.caption(
        f"Beeswarm of {len(points):,} points ({points['shap'].size // max(len(view.importance), 1):,} customers "
        "sampled with a fixed seed): each dot is one customer's SHAP value for a feature; colour is that "
        "customer's value (categories by their order in the model card)."
    )


def _draw_feature(manifest: dict, view: GlobalView, view_for: Callable[[str], GlobalView]) -> None:
    """Dependence and PDP/ICE of the picked feature (`view_for` rebuilds the view for another one)."""
    labels = {f["name"]: f["label"] for f in manifest["features"]}
    st.subheader("How one feature acts")
    if FEATURE_KEY not in st.session_state:
        st.session_state[FEATURE_KEY] = view.feature
    order = view.importance["feature"].tolist()
    feature = st.selectbox("Feature", order, key=FEATURE_KEY, format_func=lambda f: labels.get(f, f))
    st.query_params["feature"] = feature
    if feature != view.feature:
        view = view_for(feature)
    numeric = next(f["type"] for f in manifest["features"] if f["name"] == feature) == "numeric"
    dep_col, pdp_col = st.columns(2, gap="large")
    with dep_col:
        colour_label = labels.get(view.interaction) if view.interaction else None
        draw.altair_chart(
            global_charts.dependence_chart(view.dependence, labels[feature], numeric, colour_label), width="stretch"
        )
        how = (
            f"coloured by {inert(colour_label)}, the feature whose values best explain the remaining spread "
            f"(mean |correlation| {view.interaction_score:.2f} with this feature's SHAP values within bins of its "
            "value)"
            if colour_label
            else "no other feature explains the remaining spread"
        )
        st.caption(f"SHAP dependence: each dot is a customer; {how}.")
    with pdp_col:
        if view.pdp is None:
            st.info(f"This bundle was trained without partial dependence grids; {RETRAIN}")
        elif view.pdp.empty:
            st.info("The precomputed grids do not cover this feature and model.")
        else:
            draw.altair_chart(
                global_charts.pdp_ice_chart(view.pdp, view.ice, labels[feature], numeric), width="stretch"
            )
            st.caption(
                "PDP with ICE: each grey line is one customer's predicted churn as only this feature changes; "
                "the thick line is the average."
            )


render()

"""The Customer page's sections (what-if, ICE, levers, similar, find): drawing only.

Split from `app_pages/customer.py` to keep each file readable (LIME and export are in
`customer_lime_export.py`); every number comes from `dashboard.views.customer`.
Widget keys and tab names are module constants so tests can drive them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import streamlit as st

from analytics.risk import BANDS
from bundle.reader import Bundle
from dashboard.charts import customer as charts
from dashboard.shell import draw
from dashboard.shell.plain import inert
from dashboard.views.common import display_value, feature_labels, format_probability, is_missing
from dashboard.views.customer.levers import LEVER_COLUMNS, actionable_features, build_levers
from dashboard.views.customer.similar import ANY, SORTS, build_similar, find_customers
from dashboard.views.customer.whatif import (
    WhatIfError,
    build_ice,
    build_whatif,
    encode_whatif,
    feature_domains,
    load_background,
    parse_whatif,
    population,
    whatif_edits,
)

WHATIF_PARAM, ICE_PARAM = "whatif", "ice"
WHATIF_PREFIX = "wi_"
WHATIF_FOR_KEY = "whatif_for"
WHATIF_RESET_KEY = "whatif_reset"
ICE_KEY = "ice_pick"
LIME_SAMPLES_KEY, LIME_RUN_KEY, LIME_RESULT_KEY = "lime_samples", "lime_run", "lime_result"
FIND_BAND_KEY, FIND_REASON_KEY, FIND_SORT_KEY, FIND_PAGE_KEY = "find_band", "find_reason", "find_sort", "find_page"
FIND_OPEN_KEY, FIND_PICK_KEY = "find_open", "find_pick"
LEVER_PICK_KEY, LEVER_APPLY_KEY = "lever_pick", "lever_apply"
TAB_KEY = TAB_PARAM = "tab"  # the open tab: session state and URL parameter
WHY_TAB, WHATIF_TAB, ICE_TAB, LEVERS_TAB = "Why", "What if", "Trend (ICE)", "Retention levers"
SIMILAR_TAB, LIME_TAB, FIND_TAB, EXPORT_TAB = "Similar customers", "LIME check", "Find customers", "Export"
TABS = (WHY_TAB, WHATIF_TAB, ICE_TAB, LEVERS_TAB, SIMILAR_TAB, LIME_TAB, FIND_TAB, EXPORT_TAB)
# Run only while open (see the Customer page's docstring).
LAZY_TABS = frozenset({ICE_TAB, LEVERS_TAB, SIMILAR_TAB, EXPORT_TAB})


@st.cache_resource(show_spinner=False, max_entries=8)
def _domains(run_dir: str, run_id: str, _bundle: Bundle, _store) -> dict:
    return feature_domains(_bundle, _store)


@st.cache_resource(show_spinner=False, max_entries=8)
def _population(run_dir: str, run_id: str, _bundle: Bundle):
    rows = load_background(_bundle, [f["name"] for f in _bundle.manifest["features"]])
    return population(_bundle.manifest, rows)


def domains_of(bundle: Bundle, store) -> dict:
    return _domains(str(bundle.path), bundle.run_id, bundle, store)


def population_of(bundle: Bundle):
    return _population(str(bundle.path), bundle.run_id, bundle)


# --- what-if -------------------------------------------------------------------------------


def _set_whatif_widgets(values: dict) -> None:
    for name, value in values.items():
        st.session_state[WHATIF_PREFIX + name] = None if is_missing(value) else value


def _reset_whatif(real: dict) -> None:
    _set_whatif_widgets(real)
    st.query_params.pop(WHATIF_PARAM, None)


def _apply_edits(real: dict, edits: dict) -> None:
    _set_whatif_widgets({**real, **edits})


def _apply_lever(real: dict, edits: dict) -> None:
    """Button callback: the lever's changes go into the what-if, and the What if tab opens on them."""
    _apply_edits(real, edits)
    st.session_state[TAB_KEY] = WHATIF_TAB


def draw_whatif(bundle: Bundle, store, runtime, view) -> None:
    domains = domains_of(bundle, store)
    labels = feature_labels(bundle.manifest)
    real = view.raw_features
    if st.session_state.get(WHATIF_FOR_KEY) != str(view.customer_id):
        edits: dict = {}
        # Only the first customer a session shows takes its scenario from the link.
        if WHATIF_FOR_KEY not in st.session_state:
            try:
                edits = parse_whatif(st.query_params.get(WHATIF_PARAM), domains, labels)
            except WhatIfError as exc:
                st.warning(inert(f"{exc} Showing the customer's real values.", None))
        st.session_state[WHATIF_FOR_KEY] = str(view.customer_id)
        _apply_edits(real, edits)

    st.markdown(
        "Change any value to see how this customer's risk would move. Numbers stay within the range seen "
        "among customers; categories are the known ones."
    )
    edits = whatif_edits(_whatif_inputs(bundle, domains, labels), real)
    if edits:
        encoded = encode_whatif(edits)
        if st.query_params.get(WHATIF_PARAM) != encoded:
            st.query_params[WHATIF_PARAM] = encoded
    else:
        st.query_params.pop(WHATIF_PARAM, None)
    st.button(
        "Reset to the real values", key=WHATIF_RESET_KEY, on_click=_reset_whatif, args=(real,), disabled=not edits
    )
    result = build_whatif(runtime, bundle.manifest, real, edits, view.probability)
    col_new, col_real = st.columns(2)
    col_new.metric(
        "Probability with these changes",
        format_probability(result.probability),
        delta=result.change_text if edits else None,
        delta_color="inverse",
    )
    col_real.metric("Real probability", format_probability(view.probability))
    if edits:
        changed = ", ".join(labels[n] for n in edits)
        st.caption(inert(f"Changed: {changed}. The chart below is the new explanation.", None))
    draw.altair_chart(charts.waterfall_chart(result.waterfall), width="stretch")


def _whatif_inputs(bundle: Bundle, domains: dict, labels: dict[str, str]) -> dict[str, object]:
    """One input per feature, three columns; returns {feature: the value shown}."""
    columns = st.columns(3)
    chosen: dict[str, object] = {}
    for i, spec in enumerate(bundle.manifest["features"]):
        name, domain = spec["name"], domains[spec["name"]]
        key = WHATIF_PREFIX + name
        with columns[i % 3]:
            if domain.type == "numeric":
                step = 1.0 if float(domain.low).is_integer() and float(domain.high).is_integer() else 0.01
                chosen[name] = st.number_input(
                    inert(labels[name]),
                    min_value=domain.low,
                    max_value=domain.high,
                    step=step,
                    key=key,
                    format="%.0f" if step == 1.0 else "%.2f",
                )
            else:
                options: list[object] = list(domain.choices)
                if st.session_state.get(key) not in options:
                    options = [st.session_state.get(key), *options]
                chosen[name] = st.selectbox(
                    inert(labels[name]), options, key=key, format_func=partial(display_value, spec)
                )
    return chosen


# --- ICE ----------------------------------------------------------------------------------


def draw_ice(bundle: Bundle, store, runtime, view) -> None:
    labels = feature_labels(bundle.manifest)
    names = list(labels)
    if ICE_KEY not in st.session_state or st.session_state[ICE_KEY] not in names:
        requested = st.query_params.get(ICE_PARAM)
        default = next((f for f in view.waterfall["feature"] if f in labels), names[0])
        if requested is not None and requested not in names:
            st.warning(inert(f"There is no feature '{requested[:40]}'; showing {labels[default]} instead.", None))
        st.session_state[ICE_KEY] = requested if requested in names else default
    picked = st.selectbox(
        "Feature",
        names,
        key=ICE_KEY,
        format_func=lambda n: labels.get(n, n),
        help="How this customer's risk would change with this one value, all else equal.",
    )
    feature = picked or names[0]  # never None: the key was set to one of the options above
    if st.query_params.get(ICE_PARAM) != feature:
        st.query_params[ICE_PARAM] = feature
    ice = build_ice(
        runtime, bundle.manifest, view.raw_features, feature, domains_of(bundle, store)[feature], population_of(bundle)
    )
    draw.altair_chart(
        charts.ice_chart(ice.curves, ice.label, ice.current_x, ice.current_probability, ice.categorical),
        width="stretch",
    )
    st.caption(
        "Dark line: this customer with only this value changed. Shaded: where 80% of customers' own curves "
        "lie (10th–90th percentile of 500 sample customers); dashed: their average, the partial dependence. "
        "Red dot: the customer's current value."
    )


# --- levers -------------------------------------------------------------------------------


def draw_levers(bundle: Bundle, store, runtime, view) -> None:
    if not actionable_features(bundle.manifest):
        st.info("This bundle's dataset declares no actionable features, so there are no levers to suggest.")
        return
    levers = build_levers(
        runtime, bundle.manifest, store, view.model, view.raw_features, view.probability, domains_of(bundle, store)
    )
    st.markdown(
        "**What the model links to lower risk**: single changes and pairs of changes the business can "
        "make, best first, scored live by the model."
    )
    st.caption(
        "These are associations the model learned from which customers stayed and which left, not tested "
        "effects of an offer: making a change may not lower this customer's risk. Test an offer before relying on it."
    )
    if levers.empty:
        st.info("No change of an actionable feature lowers this customer's churn probability.")
        return
    st.dataframe(levers[LEVER_COLUMNS[:-1]], hide_index=True, width="stretch")
    st.caption(
        f"Similar-risk customers with it: customers in the same risk band ({view.band}) who already have that value; "
        "churned among them: the share of those customers who actually churned (observed, not predicted)."
    )
    picks = list(range(len(levers)))
    if st.session_state.get(LEVER_PICK_KEY) not in picks:  # another customer, fewer levers
        st.session_state[LEVER_PICK_KEY] = 0
    pick = st.selectbox(
        "Try a lever in the What-if tab", picks, key=LEVER_PICK_KEY, format_func=lambda i: levers.iloc[i]["Change"]
    )
    st.button(
        "Apply to what-if",
        key=LEVER_APPLY_KEY,
        on_click=_apply_lever,
        args=(view.raw_features, levers.iloc[pick]["edits"]),
    )


# --- similar & find -----------------------------------------------------------------------


def draw_similar(bundle: Bundle, store, view, open_customer: Callable[[str], None]) -> None:
    similar = build_similar(store, view.model, view.position, feature_labels(bundle.manifest))
    st.markdown("Customers at risk for the same reasons (closest explanations under this model).")
    st.dataframe(similar, hide_index=True, width="stretch")
    for customer_id in similar["Customer"]:
        st.button(
            inert(f"Open customer {customer_id}"),
            key=f"similar_{customer_id}",
            on_click=open_customer,
            args=(customer_id,),
        )


def draw_find(bundle: Bundle, store, model: str, open_customer: Callable[[str], None]) -> None:
    labels = feature_labels(bundle.manifest)
    st.markdown("**Find customers** by risk band and main reason (the reason that raises their risk most).")
    c1, c2, c3, c4 = st.columns(4)
    band = c1.selectbox(
        "Risk band", [*BANDS, ANY], key=FIND_BAND_KEY, format_func=lambda b: f"{b} risk" if b != ANY else "any"
    )
    reason = c2.selectbox(
        "Main reason", [ANY, *labels], key=FIND_REASON_KEY, format_func=lambda n: labels.get(n, "any")
    )
    sort = c3.selectbox("Order", list(SORTS), key=FIND_SORT_KEY)
    page = c4.number_input("Page", min_value=1, value=1, step=1, key=FIND_PAGE_KEY)
    found = find_customers(store, bundle.manifest, model, band, reason, sort, int(page))
    st.caption(f"{found.total:,} customers match · page {found.page} of {found.pages}")
    st.dataframe(found.rows, hide_index=True, width="stretch")
    if len(found.rows):
        options = list(found.rows["Customer"])
        if st.session_state.get(FIND_PICK_KEY) not in options:  # the page or filter changed
            st.session_state[FIND_PICK_KEY] = options[0]
        pick = st.selectbox("Customer to open", options, key=FIND_PICK_KEY)
        st.button("Open this customer", key=FIND_OPEN_KEY, on_click=open_customer, args=(pick,))

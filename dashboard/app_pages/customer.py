"""Customer page: one customer's churn risk, the reasons for it, and what could change it.

Draws only: every number comes from `dashboard.views.customer` (view, whatif, levers,
similar, lime_check, report), all of which run the bundle's models through the
JVM-free runtime, so the page works for every model in the bundle.
URL state: `?customer=`, `?model=`, `?whatif=` (JSON edits), `?ice=` (feature), `?tab=` (open tab),
`?snapshot=` (the history snapshot compared with the one before it).

Tabs whose work is heavy and whose state lives in the URL or is cheap to lose (ICE, levers,
similar customers, export) run only while open: each rerun of the page (every widget change)
then pays for one of them, not all. The others always run, so their widgets keep what the
user set while another tab is open (Streamlit drops the state of widgets a run does not draw).
"""

from __future__ import annotations

import streamlit as st

from analytics.risk import describe_bands
from bundle.reader import Bundle, BundleError
from dashboard.app_pages.customer_history import draw_history
from dashboard.app_pages.customer_items import draw_customer_items
from dashboard.app_pages.customer_lime_export import draw_export, draw_lime
from dashboard.app_pages.customer_sections import (
    EXPORT_TAB,
    FIND_TAB,
    ICE_PARAM,
    ICE_TAB,
    LAZY_TABS,
    LEVERS_TAB,
    LIME_TAB,
    SIMILAR_TAB,
    TAB_KEY,
    TAB_PARAM,
    TABS,
    WHATIF_PARAM,
    WHATIF_TAB,
    WHY_TAB,
    draw_find,
    draw_ice,
    draw_levers,
    draw_similar,
    draw_whatif,
)
from dashboard.charts import customer as charts
from dashboard.shell import data, draw
from dashboard.shell.model_pick import pick_model
from dashboard.shell.plain import inert
from dashboard.views.common import format_probability
from dashboard.views.customer.view import EFFECT_CAPTION, CustomerView, Reason, build_customer_view
from runtime import ModelRuntime
from store.customers import MAX_ID_LENGTH, CustomerLookupError, CustomerStore

CUSTOMER_PARAM = data.CUSTOMER_BOX_KEY
LAST_CUSTOMER_KEY = "last_customer"
MODEL_KEY = "model_pick"


def _follow_in_url(customer_id: str) -> None:
    """Keep `?customer=` equal to what is shown, so the address bar is always a shareable link.

    Done by hand rather than with `bind="query-params"`: a bound param is written by the
    browser only (invisible to AppTest) and is dropped whenever it equals the default.
    """
    st.session_state[LAST_CUSTOMER_KEY] = customer_id
    if customer_id and len(customer_id) <= MAX_ID_LENGTH:
        if st.query_params.get(CUSTOMER_PARAM) != customer_id:
            st.query_params[CUSTOMER_PARAM] = customer_id
    elif CUSTOMER_PARAM in st.query_params:
        del st.query_params[CUSTOMER_PARAM]


def open_customer(customer_id: str) -> None:
    """Button callback (similar / find rows): show another customer, dropping this one's what-if."""
    st.session_state[CUSTOMER_PARAM] = customer_id
    st.query_params.pop("whatif", None)


def render() -> None:
    bundle = st.session_state[data.ACTIVE_BUNDLE_KEY]
    st.title("Customer")
    try:
        store = data.load_customer_store(bundle)
    except BundleError as exc:
        st.error(inert(exc, 600))
        return
    try:
        _draw(bundle, store)
    except BundleError as exc:
        # Rows are read from the bundle's files on demand; a file changed or damaged on disk
        # after the bundle was verified at open is reported here rather than as a traceback.
        st.error(inert(exc, 600))


def _draw(bundle: Bundle, store: CustomerStore) -> None:
    examples = ", ".join(str(i) for i in store.example_ids(3))
    model = pick_model(
        bundle.manifest,
        MODEL_KEY,
        help="The same customer under each model of the bundle; the champion scored best on the test set.",
    )

    # A pasted link wins; otherwise come back to the customer this session last viewed. Passed as the
    # widget's `value` (not written into session state): when the box comes back after a run that did
    # not draw it (a broken bundle was picked), the browser shows this value instead of an empty box.
    # The key alone identifies the widget, so a changing `value` never resets what the user typed.
    # Once the box has state (typed, or set by an "Open customer" button), the state alone drives it:
    # passing `value` as well would make Streamlit warn about a value set two ways.
    initial = (
        {}
        if CUSTOMER_PARAM in st.session_state
        else {"value": st.query_params.get(CUSTOMER_PARAM, st.session_state.get(LAST_CUSTOMER_KEY, ""))}
    )
    raw_id = st.text_input(
        "Customer ID",
        **initial,
        key=CUSTOMER_PARAM,
        placeholder=f"e.g. {examples}",
        help=f"One of the {len(store):,} customers in bundle '{inert(bundle.name)}'. Press Enter to look up.",
    )
    # A hashed bundle's URL carries the hash, never the raw ID typed (bundle.ids).
    _follow_in_url(store.url_id(raw_id) if raw_id.strip() else "")
    if store.hashed_without_key:
        st.caption("Customer IDs in this bundle are hashed and this dashboard has no key: enter a hashed ID.")
    if not raw_id.strip():
        st.info(inert(f"Enter a customer ID to see their churn risk, for example {examples}.", None))
        draw_find(bundle, store, model, open_customer)
        return
    try:
        view = build_customer_view(bundle, store, raw_id, model=model)
    except CustomerLookupError as exc:
        st.warning(inert(f"{exc} Try one of {examples}.", None))
        draw_find(bundle, store, model, open_customer)
        return

    runtime = data.load_runtime(bundle, model)
    _draw_card_and_history(bundle, view, model, runtime)
    sections = {
        WHY_TAB: lambda: _draw_why(view),
        WHATIF_TAB: lambda: draw_whatif(bundle, store, runtime, view),
        ICE_TAB: lambda: draw_ice(bundle, store, runtime, view),
        LEVERS_TAB: lambda: draw_levers(bundle, store, runtime, view),
        SIMILAR_TAB: lambda: draw_similar(bundle, store, view, open_customer),
        LIME_TAB: lambda: draw_lime(bundle, runtime, view),
        FIND_TAB: lambda: draw_find(bundle, store, model, open_customer),
        EXPORT_TAB: lambda: draw_export(bundle, view),
    }
    _init_tab()
    for label, tab in zip(TABS, st.tabs(TABS, key=TAB_KEY, on_change="rerun"), strict=True):
        if tab.open or label not in LAZY_TABS:
            with tab:
                sections[label]()
    _tab_in_url(st.session_state[TAB_KEY])
    draw_customer_items(bundle, view.customer_id)


def _init_tab() -> None:
    """The tab a link opens: `?tab=` if it names one, else the tab a what-if or ICE link is about."""
    if TAB_KEY in st.session_state and st.session_state[TAB_KEY] in TABS:
        return
    requested = st.query_params.get(TAB_PARAM)
    if requested in TABS:
        st.session_state[TAB_KEY] = requested
    elif WHATIF_PARAM in st.query_params:
        st.session_state[TAB_KEY] = WHATIF_TAB
    elif ICE_PARAM in st.query_params:
        st.session_state[TAB_KEY] = ICE_TAB
    else:
        st.session_state[TAB_KEY] = WHY_TAB


def _tab_in_url(label: str) -> None:
    # By hand, like the customer: a bound parameter would be invisible to AppTest (see _follow_in_url).
    if label == WHY_TAB:
        st.query_params.pop(TAB_PARAM, None)
    elif st.query_params.get(TAB_PARAM) != label:
        st.query_params[TAB_PARAM] = label


def _draw_card_and_history(bundle: Bundle, view: CustomerView, model: str, runtime: ModelRuntime) -> None:
    _draw_reason_card(view)
    draw_history(bundle, view.customer_id, model, runtime)  # the customer over the bundle's snapshots


def _draw_reason_card(view: CustomerView) -> None:
    champion = " ★ champion" if view.is_champion else ""
    st.subheader(inert(f"Customer {view.customer_id}", None))
    # Short values only: a metric tile cuts anything wider than its column at 1,280 px.
    col_p, col_band, col_rank, col_outcome = st.columns(4)
    col_p.metric(
        "Churn probability",
        format_probability(view.probability),
        help=inert(
            f"{view.model_name}{champion}. Average customer: {format_probability(view.average_probability)}. "
            f"{view.calibration_text}",
            None,
        ),
    )
    col_band.metric("Risk band", f"{view.band.capitalize()} risk", help=describe_bands())
    col_rank.metric(
        "Risk rank",
        view.rank_short,
        help=inert(f"This customer is {view.rank_text}, under this model.", None),
    )
    col_outcome.metric("Actual outcome", view.outcome, help=inert(f"In the {view.outcome_detail}.", None))
    st.markdown(inert(view.caption, None))
    up, down = st.columns(2)
    _reason_list(up, "Raising the risk", view.raising, "None of the main reasons raises this customer's risk.")
    _reason_list(down, "Lowering the risk", view.lowering, "None of the main reasons lowers this customer's risk.")
    st.caption(
        f"The {len(view.reasons)} strongest reasons, each with its effect on the odds of churning. {EFFECT_CAPTION}"
    )
    st.caption(inert(f"{view.calibration_text} {view.baseline_text}", None))


def _reason_list(column, heading: str, reasons: tuple[Reason, ...], empty: str) -> None:
    with column:
        st.markdown(f"**{heading}**")
        for reason in reasons:
            st.markdown(inert(f"{reason.text} · {reason.effect_text}", None))
        if not reasons:
            st.markdown(empty)


def _draw_why(view: CustomerView) -> None:
    st.markdown(inert(f"Reasons · {view.model_name}", None))
    draw.altair_chart(charts.waterfall_chart(view.waterfall), width="stretch")
    st.caption(
        "Each bar is one reason's effect (odds factor, written on the bar); the bars add up, from the baseline, "
        "to this customer's probability. The axis is in probabilities on the log-odds scale the effects add "
        "up in. Red pushes towards churn, blue away from it."
    )
    st.markdown("**Customer details**")
    st.dataframe(
        view.features,
        hide_index=True,
        width="stretch",
        height=36 * (len(view.features) + 1) + 3,
        column_config={
            "Feature": st.column_config.TextColumn(width="medium"),
            "Value": st.column_config.TextColumn(width="small"),
            "Reason": st.column_config.TextColumn(width="medium", help="The reason code's phrase for this value."),
            "Effect": st.column_config.TextColumn(width="small", help="Effect on the odds of churning."),
            "Share of the push": st.column_config.NumberColumn(
                width="small", format="%.0f%%", help="|effect| as a share of all effects together."
            ),
        },
    )


render()

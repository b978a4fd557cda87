"""Customer page: one customer's churn risk and the reasons for it (champion model)."""

from __future__ import annotations

import streamlit as st

from bundle.customers import MAX_ID_LENGTH, CustomerLookupError
from bundle.reader import BundleError
from dashboard import charts, data
from dashboard.plain import inert
from dashboard.views import build_customer_view, ordinal

CUSTOMER_PARAM = "customer"
LAST_CUSTOMER_KEY = "last_customer"


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


def render() -> None:
    bundle = st.session_state[data.ACTIVE_BUNDLE_KEY]
    st.title("Customer")
    try:
        store = data.load_customer_store(bundle)
    except BundleError as exc:
        st.error(inert(exc, 600))
        return
    examples = ", ".join(str(i) for i in store.example_ids(3))

    # A pasted link wins; otherwise come back to the customer this session last viewed. Passed as the
    # widget's `value` (not written into session state): when the box comes back after a run that did
    # not draw it (a broken bundle was picked), the browser shows this value instead of an empty box.
    # The key alone identifies the widget, so a changing `value` never resets what the user typed.
    initial = st.query_params.get(CUSTOMER_PARAM, st.session_state.get(LAST_CUSTOMER_KEY, ""))
    raw_id = st.text_input(
        "Customer ID",
        value=initial,
        key=CUSTOMER_PARAM,
        placeholder=f"e.g. {examples}",
        help=f"One of the {len(store):,} customers in bundle '{inert(bundle.name)}'. Press Enter to look up.",
    )
    # A hashed bundle's URL carries the hash, never the raw ID typed (bundle.ids).
    _follow_in_url(store.url_id(raw_id) if raw_id.strip() else "")
    if store.hashed_without_key:
        st.caption("Customer IDs in this bundle are hashed and this dashboard has no key: enter a hashed ID.")
    if not raw_id.strip():
        st.info(f"Enter a customer ID to see their churn risk, for example {inert(examples)}.")
        return
    try:
        view = build_customer_view(bundle, store, raw_id)
    except CustomerLookupError as exc:
        st.warning(f"{inert(exc)} Try one of {inert(examples)}.")
        return

    st.subheader(f"Customer {inert(view.customer_id)}")
    col_p, col_pct, col_outcome = st.columns(3)
    col_p.metric(
        "Churn probability",
        f"{view.probability:.1%}",
        help=f"{inert(view.model_name)} (champion model). Average customer: {view.base_probability:.1%}.",
    )
    col_pct.metric(
        "Percentile",
        ordinal(round(view.percentile)),
        help="Share of all customers in the bundle scored lower than this one.",
    )
    col_outcome.metric("Actual outcome", view.outcome, help=f"In the {view.outcome_detail}.")
    col_outcome.caption(f"In the {view.outcome_detail.split(':')[0]}")
    st.markdown(inert(view.caption, None))

    left, right = st.columns([1, 1], gap="large")
    with left:
        st.markdown(f"**Top reasons** · SHAP contributions, {inert(view.model_name)}")
        st.altair_chart(charts.waterfall_chart(view.waterfall), width="stretch")
        st.caption(
            "Bars start at the model's baseline (its average log-odds) and add up to this customer's risk. "
            "Red pushes towards churn, blue away from it."
        )
    with right:
        st.markdown("**Customer details**")
        st.dataframe(
            view.features,
            hide_index=True,
            width="stretch",
            height=36 * (len(view.features) + 1) + 3,
            column_config={
                "Feature": st.column_config.TextColumn(width=170),
                "Value": st.column_config.TextColumn(width=140),
                "Effect (log-odds)": st.column_config.NumberColumn(
                    "Effect",
                    width=80,
                    format="%+.2f", help="SHAP value: how much this feature moves the log-odds of churning"
                )
            },
        )


render()

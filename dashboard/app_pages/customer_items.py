"""Customer page section for bundles with item vectors: the customer's latest items and
recommendations (unseen neighbours of those items, each with the item it came from).
Items link to the Items page."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from bundle.reader import Bundle, BundleError
from dashboard.shell import data
from dashboard.shell.plain import inert
from dashboard.views.items import build_customer_items
from store.items import ItemLookupError, has_items

# Absolute, so the link resolves whichever script is the app's entry point.
ITEMS_PAGE = Path(__file__).resolve().parent / "items.py"


def _links(bundle: Bundle, rows, prefix: str, label) -> None:
    for row in rows.itertuples(index=False):
        st.page_link(
            ITEMS_PAGE, label=inert(label(row), limit=120), icon=":material/movie:",
            query_params={"bundle": bundle.name, "item": str(row.item_id)},
        )  # fmt: skip


def draw_customer_items(bundle: Bundle, customer_id: int | str, recent: int = 10, k: int = 10) -> None:
    """Draw nothing for bundles without item vectors; otherwise two short lists with links."""
    if not has_items(bundle.manifest):
        return
    try:
        catalog = data.load_item_catalog(bundle)
        history = data.load_customer_history(bundle, customer_id)  # this customer's rows only
        view = build_customer_items(catalog, history, customer_id, recent=recent, k=k)
    except (BundleError, ItemLookupError) as exc:
        st.warning(f"Item data of bundle '{inert(bundle.name)}' can't be read: {inert(exc, limit=300)}")
        return
    st.subheader("Items", anchor=False)
    if view.recent.empty:
        st.info("This customer has no items before the cutoff.")
        return
    latest, suggested = st.columns(2)
    with latest:
        st.markdown("**Most recent items** (before the cutoff, latest first)")
        _links(
            bundle,
            view.recent,
            "recent",
            lambda r: f"{r.title}" + (f" · rated {r.rating:g}" if r.rating == r.rating else ""),
        )
    with suggested:
        st.markdown("**Recommended** (similar items not yet rated)")
        if view.recommendations.empty:
            st.caption("No neighbours of these items are left unseen.")
        _links(bundle, view.recommendations, "rec", lambda r: f"{r.title} — like {r.because_of} ({r.similarity:.2f})")

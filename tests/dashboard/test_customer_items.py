"""Customer-page item section: latest items and unseen recommendations, each linked to the Items page."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bundle import items as im
from bundle import layout
from bundle.reader import open_bundle
from dashboard.views_items import build_customer_items, catalog_from_bundle

SECTION_APP = Path(__file__).with_name("customer_items_app.py")


@pytest.fixture(scope="module")
def setting(movielens_bundle_root):
    bundle = open_bundle(movielens_bundle_root / "movielens")
    history = bundle.read_table(layout.CUSTOMER_ITEMS).to_pandas()
    return bundle, catalog_from_bundle(bundle), history


def test_recommendations_are_unseen_neighbours_of_recent_items(setting):
    bundle, catalog, history = setting
    customer = int(history.groupby(layout.ID_COLUMN).size().idxmax())
    view = build_customer_items(catalog, history, customer, recent=10, k=10)
    mine = history[history[layout.ID_COLUMN] == customer].sort_values("rank")
    assert view.recent["item_id"].tolist() == mine[layout.ITEM_ID_COLUMN].head(10).tolist()
    assert len(view.recommendations) == 10
    consumed = set(mine[layout.ITEM_ID_COLUMN])
    assert consumed.isdisjoint(view.recommendations["item_id"])
    for row in view.recommendations.itertuples():
        assert row.because_of_id in set(view.recent["item_id"])
        assert row.similarity == pytest.approx(
            float(catalog.index.unit[catalog.index.position(row.item_id)] @ catalog.index.unit[catalog.index.position(row.because_of_id)]), abs=1e-5
        )
    assert view.recommendations["similarity"].is_monotonic_decreasing


def test_section_links_each_item_to_the_items_page(setting, movielens_bundle_root):
    bundle, catalog, history = setting
    customer = int(history[layout.ID_COLUMN].iloc[0])
    at = AppTest.from_file(str(SECTION_APP), default_timeout=60)
    at.query_params.update(root=str(movielens_bundle_root), bundle="movielens", customer=str(customer))
    at.run()
    assert not at.exception
    links = at.get("page_link")
    view = build_customer_items(catalog, history, customer)
    expected = [*view.recent["item_id"], *view.recommendations["item_id"]]
    assert [link.proto.query_string for link in links] == [f"bundle=movielens&item={i}" for i in expected]
    assert {link.proto.page for link in links} == {"items"}
    assert im.has_items(bundle.manifest)


def test_section_draws_nothing_for_bundles_without_items(telco_bundle):
    from dashboard.sections.customer_items import draw_customer_items

    # No Streamlit context needed: it returns before drawing anything.
    assert not im.has_items(telco_bundle.manifest)
    assert draw_customer_items(telco_bundle, 1) is None

"""Customer-page item section: latest items and unseen recommendations, each linked to the Items page."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from bundle import layout
from bundle.reader import open_bundle
from dashboard.views.items import build_customer_items, catalog_from_bundle
from store import items as im

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
            float(
                catalog.index.unit[catalog.index.position(row.item_id)]
                @ catalog.index.unit[catalog.index.position(row.because_of_id)]
            ),
            abs=1e-5,
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
    from dashboard.app_pages.customer_items import draw_customer_items

    # No Streamlit context needed: it returns before drawing anything.
    assert not im.has_items(telco_bundle.manifest)
    draw_customer_items(telco_bundle, 1)  # would fail outside a Streamlit run if it drew


def test_section_reports_an_unreadable_recent_items_file_without_a_traceback(tmp_path):
    from tests.bundle.corrupt import rewrite
    from tests.bundle.test_recent_items import SOUND
    from tests.bundle.tiny import write_tiny_bundle

    write_tiny_bundle(tmp_path, recent_items=SOUND)
    at = AppTest.from_file(str(SECTION_APP), default_timeout=60)
    at.query_params.update(root=str(tmp_path), bundle="tiny", customer="3")
    at.run()
    assert not at.exception and not at.warning
    # Customer 3's three items, latest first, then unseen neighbours of them (d: the one item left).
    assert [link.proto.query_string for link in at.get("page_link")] == [
        f"bundle=tiny&item={i}" for i in ("a", "b", "c", "d")
    ]

    # Damaged after publish, checksums updated: only the on-demand read can notice. (Another run
    # directory: the process keeps the first one's open file and last row group.)
    damaged = write_tiny_bundle(tmp_path / "damaged", recent_items=SOUND)
    rewrite(damaged.path, raw={layout.CUSTOMER_ITEMS: b"PAR1 not parquet PAR1"})
    at = AppTest.from_file(str(SECTION_APP), default_timeout=60)
    at.query_params.update(root=str(tmp_path / "damaged"), bundle="tiny", customer="3")
    at.run()
    assert not at.exception
    assert [w.value.replace("\\", "") for w in at.warning] == [  # inert() escapes Markdown
        f"Item data of bundle 'tiny' can't be read: Bundle 'tiny' is unreadable: "
        f"{layout.CUSTOMER_ITEMS} is not a valid Parquet table."
    ]
    assert str(tmp_path) not in at.warning[0].value and not at.get("page_link")


def test_one_customers_rows_read_on_demand_equal_their_rows_of_the_whole_table(setting):
    from store.recent_items import open_recent_items

    bundle, _, history = setting
    recent = open_recent_items(bundle)
    customers = bundle.read_table(layout.CUSTOMERS, columns=[layout.ID_COLUMN]).column(0).to_pylist()
    without = sorted(set(customers) - set(history[layout.ID_COLUMN]))
    for customer in [*history[layout.ID_COLUMN].unique()[::5].tolist(), *without[:5]]:
        got = recent.rows(customer).to_pandas()
        expected = history[history[layout.ID_COLUMN] == customer].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected)

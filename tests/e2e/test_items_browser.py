"""The Items page in a real browser: open an item by URL, see its neighbours and the
highlighted map, follow a neighbour (the address bar follows)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bundle import layout
from bundle.reader import open_bundle
from store import items as im
from tests.e2e.conftest import serve_dashboard, settle

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def items_server(movielens_bundle_root: Path, tmp_path_factory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("streamlit-items") / "server.log"
    with serve_dashboard(movielens_bundle_root, log, {"CHURNLENS_WORD2VEC_DIRS": None}) as url:
        yield url


def test_open_item_by_url_and_follow_a_neighbour(items_server, page, movielens_bundle_root, screenshots):
    bundle = open_bundle(movielens_bundle_root / "movielens")
    items = bundle.read_table(layout.ITEMS).to_pandas().set_index("item_id")
    index = im.read_vectors(bundle.read_table(layout.ITEM_VECTORS))
    item = str(items["users"].idxmax())
    first, _ = im.neighbours(index, item, 10)[0]

    page.goto(f"{items_server}/items?bundle=movielens&item={item}")
    settle(page)
    page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=30_000)
    assert items.loc[item, "title"][:12] in page.locator("h3").first.inner_text()
    chart = page.locator("[data-testid='stVegaLiteChart'], .vega-embed").first
    chart.locator("canvas, svg").first.wait_for(timeout=30_000)
    assert chart.is_visible()
    assert page.locator("[data-testid='stException']").count() == 0
    page.wait_for_timeout(800)
    page.screenshot(path=str(screenshots / "items.png"), full_page=True)
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    chart.screenshot(path=str(screenshots / "items-map.png"))

    page.get_by_role("button", name=items.loc[first, "title"][:20]).first.click()
    page.wait_for_url(f"**item={first}**", timeout=30_000)
    settle(page)
    page.locator("h3").filter(has_text=items.loc[first, "title"][:12]).first.wait_for(timeout=30_000)
    assert "bundle=movielens" in page.url
    page.wait_for_timeout(800)
    page.screenshot(path=str(screenshots / "items-followed.png"), full_page=True)

"""The Items page in a real browser: open an item by URL, see its neighbours and the
highlighted map, follow a neighbour (the address bar follows)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.test_browser import REPO_ROOT, _free_port, _settle, _wait_until_serving
from tests.e2e.test_browser import browser, page, screenshots  # noqa: F401  (shared fixtures)

from bundle import items as im
from bundle import layout
from bundle.reader import open_bundle

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def items_server(movielens_bundle_root: Path, tmp_path_factory) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("streamlit-items") / "server.log"
    env = {**os.environ, "CHURNLENS_ARTIFACTS": str(movielens_bundle_root)}
    env.pop("CHURNLENS_WORD2VEC_DIRS", None)
    command = [
        sys.executable, "-m", "streamlit", "run", "dashboard/app.py",
        "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
    ]  # fmt: skip
    with log.open("w") as out:
        proc = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_open_item_by_url_and_follow_a_neighbour(items_server, page, movielens_bundle_root, screenshots):
    bundle = open_bundle(movielens_bundle_root / "movielens")
    items = bundle.read_table(layout.ITEMS).to_pandas().set_index("item_id")
    index = im.read_vectors(bundle.read_table(layout.ITEM_VECTORS))
    item = str(items["users"].idxmax())
    first, _ = im.neighbours(index, item, 10)[0]

    page.goto(f"{items_server}/items?bundle=movielens&item={item}")
    _settle(page)
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
    _settle(page)
    page.locator("h3").filter(has_text=items.loc[first, "title"][:12]).first.wait_for(timeout=30_000)
    assert "bundle=movielens" in page.url
    page.wait_for_timeout(800)
    page.screenshot(path=str(screenshots / "items-followed.png"), full_page=True)

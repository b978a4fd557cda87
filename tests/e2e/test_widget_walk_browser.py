"""The widget walk of tests/dashboard/test_widget_walk.py in Chromium: every page of a bundle whose
labels, categories, IDs, item titles and attributes are issue 21's payloads. No link, bold,
italic or strike element carries data, no icon replaces an ID, and the IDs shown are the real ones."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest

from tests.dashboard.hostile_bundle import IDS, TRACES, write_hostile_bundle
from tests.e2e.conftest import serve_dashboard, settle

pytestmark = pytest.mark.slow

CUSTOMER_TABS = ["Why", "What if", "Retention levers", "Similar customers", "Find customers", "Export"]
PAGES = ["validation", "global_explanations", "model_card", "models", "items"]
# Elements a Markdown renderer makes; none may hold text from the data. Links are judged by where
# they go: the app's own links to its pages (st.page_link with an item's title, a heading's anchor)
# stay on this origin; a link made from data would not.
LIVE_ELEMENTS = "a, b, strong, em, i, del, s, img"


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("walk-browser") / "artifacts"
    write_hostile_bundle(root)
    with serve_dashboard(root, root.parent / "server.log") as url:
        yield url


def _live_with_data(page) -> list[str]:
    found = page.evaluate(
        "(selector) => [...document.querySelectorAll(selector)]"
        ".filter(e => e.tagName !== 'A' || !e.href.startsWith(location.origin + '/'))"
        ".map(e => e.tagName + ': ' + (e.textContent || e.getAttribute('href') || e.getAttribute('src') || ''))",
        LIVE_ELEMENTS,
    )
    return [text for text in found if any(trace in text for trace in TRACES)]


def _urls() -> Iterator[str]:
    for tab in CUSTOMER_TABS:
        yield f"/?bundle=tiny&customer={quote(IDS[1], safe='')}&tab={quote(tab)}"
    for page in PAGES:
        yield f"/{page}?bundle=tiny"


def test_no_page_renders_data_as_markup(hostile_server, page, screenshots):
    problems = []
    for path in _urls():
        page.goto(hostile_server + path)
        settle(page)
        page.wait_for_timeout(500)  # lazy tabs draw on their own rerun
        settle(page)
        assert page.locator("[data-testid='stException']").count() == 0, path
        problems += [f"{path}: {found}" for found in _live_with_data(page)]
    page.screenshot(path=str(screenshots / "widget-walk-items.png"), full_page=True)
    (screenshots / "widget-walk-problems.txt").write_text("\n".join(problems))
    assert problems == []


def test_the_ids_shown_are_the_real_ones(hostile_server, page):
    page.goto(f"{hostile_server}/?bundle=tiny&customer={quote(IDS[1], safe='')}&tab={quote('Similar customers')}")
    settle(page)
    page.get_by_role("button", name=f"Open customer {IDS[0]}").wait_for(timeout=60_000)
    body = page.inner_text("body").replace("\u2060", "")
    for customer in IDS:
        assert customer in body, customer
    buttons = page.locator("[data-testid='stButton'] button").all_inner_texts()
    opened = sorted(text.replace("\u2060", "") for text in buttons if text.startswith("Open customer"))
    assert opened == [f"Open customer {IDS[0]}", f"Open customer {IDS[2]}"]

"""Group metrics and error analysis in a real browser: a shared URL opens the Validation page on the
chosen dimension and tree, picking a dimension and a cohort rewrites the URL, and the cohort's link
opens Global explanations restricted to it."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import settle
from tests.e2e.test_browser import _choose

pytestmark = pytest.mark.slow
WAIT_MS = 120_000


def _open(page, label: str):
    """Open the selectbox labelled `label` (again, if a rerun closed it); its options."""
    box = page.locator("[data-testid='stSelectbox']").filter(has=page.get_by_text(label, exact=True)).first
    options = page.get_by_role("option")
    for _ in range(5):
        settle(page, WAIT_MS)
        box.click()
        try:
            options.nth(1).wait_for(timeout=10_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    return options


def _no_traceback(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0


def test_shared_url_group_metrics_and_a_cohort_to_global_explanations(server, page, screenshots):
    page.goto(f"{server}/validation?bundle=telco&threshold=0.40&group=senior_citizen&errors=error")
    settle(page, WAIT_MS)
    page.get_by_text("Group metrics", exact=True).wait_for(timeout=WAIT_MS)
    sentence = page.get_by_text(re.compile(r"(No Senior citizen group is clearly worse|Clearly worse than)"))
    sentence.first.wait_for(timeout=WAIT_MS)
    page.get_by_text("Error analysis", exact=True).scroll_into_view_if_needed()
    _no_traceback(page)
    page.screenshot(path=str(screenshots / "validation-audit.png"), full_page=True)

    # Pick another dimension: the URL follows, the other parameters stay.
    _choose(page, "Group customers by", "Contract")
    page.wait_for_url(re.compile(r".*group=contract.*"), timeout=WAIT_MS)
    settle(page, WAIT_MS)
    query = parse_qs(urlparse(page.url).query)
    assert query["threshold"] == ["0.40"] and query["errors"] == ["error"]

    # Apply the worst error cohort: it lands in the URL and a link opens Global explanations with it.
    _open(page, "Apply a cohort (restricts the group metrics above)").nth(1).click()  # the worst cohort
    page.wait_for_url(re.compile(r".*cohort=.*"), timeout=WAIT_MS)
    settle(page, WAIT_MS)
    cohort = parse_qs(urlparse(page.url).query)["cohort"][0]
    shared = page.url
    link = page.get_by_role("link", name="Explain this cohort on the Global explanations page")
    link.click()
    page.wait_for_url(re.compile(r".*/global_explanations\?.*cohort=.*"), timeout=WAIT_MS)
    settle(page, WAIT_MS)
    assert parse_qs(urlparse(page.url).query)["cohort"] == [cohort]
    page.get_by_text(re.compile(r"^Cohort: ")).first.wait_for(timeout=WAIT_MS)
    _no_traceback(page)

    # The shared Validation URL reopens on the same cohort.
    page.goto(shared)
    settle(page, WAIT_MS)
    page.get_by_text(re.compile(r"over the cohort ")).first.wait_for(timeout=WAIT_MS)
    _no_traceback(page)

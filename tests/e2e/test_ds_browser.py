"""The data-science pages in a real browser: Validation's threshold moves the confusion matrix,
Global explanations' cohort filter changes the beeswarm and its size label, the Model card renders."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import settle

pytestmark = pytest.mark.slow
COHORT = "contract:Month-to-month;tenure<4"


# These pages draw up to seven charts; a shared 2-core machine needs more than the customer page's 30 s.
WAIT_MS = 120_000


def _settle(page) -> None:
    settle(page, WAIT_MS)


def _no_traceback(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0


def _wait_charts(page) -> None:
    page.locator("[data-testid='stVegaLiteChart'], .vega-embed").first.locator("canvas, svg").first.wait_for(
        timeout=WAIT_MS
    )
    page.wait_for_timeout(500)  # let vega finish its first paint before a screenshot


def _confusion(page) -> str:
    return page.locator("[data-testid='stTable']").first.inner_text()


def test_threshold_change_updates_confusion_matrix(server, page, screenshots):
    page.goto(f"{server}/validation?bundle=telco&threshold=0.30")
    _settle(page)
    page.locator("[data-testid='stTable']").first.wait_for(timeout=WAIT_MS)
    before = _confusion(page)
    slider = page.get_by_role("slider").first
    slider.focus()
    for _ in range(30):
        slider.press("ArrowRight")
    page.wait_for_url(re.compile(r".*threshold=0\.(?!30).*"), timeout=WAIT_MS)
    _settle(page)
    page.wait_for_function(
        "(before) => document.querySelector(\"[data-testid='stTable']\").innerText !== before",
        arg=before,
        timeout=WAIT_MS,
    )
    assert _confusion(page) != before
    _no_traceback(page)
    _wait_charts(page)
    page.screenshot(path=str(screenshots / "validation.png"), full_page=True)


def test_cohort_filter_changes_beeswarm_and_size(server, page, screenshots):
    page.goto(f"{server}/global_explanations?bundle=telco")
    _settle(page)
    size = page.locator("[data-testid='stMetricValue']").first
    size.wait_for(timeout=WAIT_MS)
    everyone = size.inner_text()
    caption = page.get_by_text(re.compile(r"^Beeswarm of"))
    before = caption.inner_text()
    box = page.get_by_role("textbox", name="Cohort (optional)")
    box.fill(COHORT)
    box.press("Enter")
    page.wait_for_url("**cohort=**", timeout=WAIT_MS)
    _settle(page)
    page.wait_for_function(
        "(before) => [...document.querySelectorAll(\"[data-testid='stCaptionContainer']\")]"
        ".some(e => e.innerText.startsWith('Beeswarm of') && e.innerText !== before)",
        arg=before,
        timeout=WAIT_MS,
    )
    assert size.inner_text() != everyone
    assert caption.inner_text() != before
    _no_traceback(page)
    _wait_charts(page)
    page.screenshot(path=str(screenshots / "global_explanations.png"), full_page=True)


def test_model_card_renders(server, page, screenshots):
    page.goto(f"{server}/model_card?bundle=telco")
    _settle(page)
    page.get_by_text("Download the card as Markdown").wait_for(timeout=WAIT_MS)
    page.locator("[data-testid='stDataFrame']").nth(4).wait_for(timeout=WAIT_MS)
    assert page.locator("[data-testid='stDataFrame']").count() >= 5
    _no_traceback(page)
    page.wait_for_timeout(500)
    page.screenshot(path=str(screenshots / "model_card.png"), full_page=True)

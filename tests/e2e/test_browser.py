"""The real app in a real browser: a pasted deep link renders the customer and the waterfall."""

from __future__ import annotations

import html
import re

import pyarrow.parquet as pq
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from bundle import layout
from bundle.models import load_runtime
from bundle.reader import open_bundle
from dashboard.views import build_customer_view
from dashboard.views.customer.whatif import build_whatif
from store.customers import CustomerStore
from tests.e2e.conftest import champion_scores, settle

pytestmark = pytest.mark.slow


def test_deep_link_renders_customer_and_waterfall(server, page, bundle_root, screenshots):
    ids, probabilities = champion_scores(bundle_root)
    page.goto(f"{server}/?bundle=telco&customer={ids[2]}")
    settle(page)
    page.wait_for_selector("[data-testid='stMetricValue']", timeout=30_000)
    metrics = page.locator("[data-testid='stMetricValue']").all_inner_texts()
    assert f"{probabilities[2]:.1%}" in metrics
    chart = page.locator("[data-testid='stVegaLiteChart'], .vega-embed").first
    chart.locator("canvas, svg").first.wait_for(timeout=30_000)
    assert chart.is_visible()
    assert page.locator("[data-testid='stException']").count() == 0
    page.wait_for_timeout(500)  # let vega finish its first paint before the screenshot
    page.screenshot(path=str(screenshots / "customer.png"), full_page=True)


def test_typing_an_id_rewrites_the_address_bar(server, page, bundle_root):
    ids, probabilities = champion_scores(bundle_root)
    page.goto(f"{server}/?bundle=telco&customer={ids[0]}")
    settle(page)
    box = page.get_by_role("textbox", name="Customer ID")
    box.fill(str(ids[-1]))
    box.press("Enter")
    page.wait_for_url(f"**customer={ids[-1]}**", timeout=30_000)
    assert "bundle=telco" in page.url
    page.get_by_text(f"{probabilities[-1]:.1%}", exact=True).first.wait_for(timeout=30_000)


def test_bad_link_shows_a_message_not_a_traceback(server, page):
    page.goto(f"{server}/?bundle=telco&customer=abc")
    settle(page)
    page.get_by_text("is not a customer ID").wait_for(timeout=30_000)
    assert page.locator("[data-testid='stException']").count() == 0


def test_models_page_shows_table_and_roc(server, page, bundle_root, screenshots):
    manifest = open_bundle(bundle_root / "telco").manifest
    page.goto(f"{server}/models?bundle=telco")
    settle(page)
    table = page.locator("[data-testid='stDataFrame']").first
    table.wait_for(timeout=30_000)
    charts = page.locator("[data-testid='stVegaLiteChart']")
    charts.first.locator("canvas, svg").first.wait_for(timeout=30_000)
    assert charts.count() == 2  # ROC and precision-recall
    assert page.get_by_text("ROC curves").is_visible() and page.get_by_text("Precision–recall curves").is_visible()
    # The grid draws on a canvas; its accessible copy lists the cells.
    cells: list[str] = []
    for _ in range(100):  # the grid fills its accessible copy a moment after it appears
        cells = table.locator("[role='gridcell'], [role='cell']").all_inner_texts()
        if any(entry["display_name"] in cells for entry in manifest["models"].values()):
            break
        page.wait_for_timeout(200)
    for entry in manifest["models"].values():
        assert entry["display_name"] in cells, (entry["display_name"], cells[:20])
    assert page.locator("[data-testid='stException']").count() == 0
    page.wait_for_timeout(500)
    page.screenshot(path=str(screenshots / "models.png"), full_page=True)


def _metric(page, label: str):
    return (
        page.locator("[data-testid='stMetric']").filter(has_text=label).locator("[data-testid='stMetricValue']").first
    )


def _choose(page, label: str, option: str) -> None:
    """Pick `option` in the visible selectbox whose label is exactly `label`."""
    exact = re.compile(f"^{re.escape(label)}$")
    box = (
        page.locator("[data-testid='stSelectbox']:visible")
        .filter(has=page.locator("[data-testid='stWidgetLabel']", has_text=exact))
        .first
    )
    choice = page.get_by_role("option", name=option, exact=True)
    # A rerun that lands while the list is open closes it again: open it until the option shows.
    for _ in range(5):
        settle(page)
        box.click()
        try:
            choice.wait_for(timeout=10_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    choice.click()
    settle(page)


def _model_that_reacts_to_contract(bundle, customer) -> tuple[str, str]:
    """A model other than the champion and a contract to switch to that moves this customer's
    probability visibly (a small test model need not split on every category)."""
    store = CustomerStore(bundle)
    for model in bundle.manifest["models"]:
        if model == bundle.manifest["champion"]:
            continue
        view = build_customer_view(bundle, store, customer, model=model)
        runtime = load_runtime(bundle, model)
        for target in ("Two year", "Month-to-month", "One year"):
            if target != view.raw_features["contract"]:
                moved = build_whatif(
                    runtime, bundle.manifest, view.raw_features, {"contract": target}, view.probability
                )
                if abs(moved.probability - view.probability) >= 0.002:
                    return model, target
    raise AssertionError("no model of the test bundle reacts to the contract")


def test_business_user_journey(server, page, bundle_root, screenshots, tmp_path):
    """Open a customer by URL → switch model → what-if → download the HTML report."""
    bundle = open_bundle(bundle_root / "telco")
    ids, _ = champion_scores(bundle_root)
    customer = ids[len(ids) // 3]
    model, target = _model_that_reacts_to_contract(bundle, customer)
    name = bundle.manifest["models"][model]["display_name"]
    page.goto(f"{server}/?bundle=telco&customer={customer}")
    settle(page)
    _metric(page, "Churn probability").wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    page.screenshot(path=str(screenshots / "customer-reason-card.png"), full_page=False)

    _choose(page, "Model", name)
    page.wait_for_url(f"**model={model}**", timeout=30_000)
    table = pq.read_table(bundle.file(layout.predictions_path(model)))
    p = dict(zip(table.column(layout.ID_COLUMN).to_pylist(), table.column(layout.PROBABILITY_COLUMN).to_pylist()))
    expect_text = f"{p[customer]:.1%}"
    page.wait_for_function(
        "t => [...document.querySelectorAll(\"[data-testid='stMetricValue']\")].some(e => e.innerText === t)",
        arg=expect_text,
        timeout=30_000,
    )

    settle(page)
    page.get_by_role("tab", name="What if").click()
    before = _metric(page, "Probability with these changes").inner_text()
    _choose(page, "Contract", target)
    page.wait_for_url("**whatif=**", timeout=30_000)
    # The metric changes once the rerun that re-scores the edited row has finished.
    page.wait_for_function(
        """b => [...document.querySelectorAll("[data-testid='stMetric']")]
                 .filter(m => m.innerText.includes('Probability with these changes'))
                 .some(m => m.querySelector("[data-testid='stMetricValue']").innerText !== b)""",
        arg=before,
        timeout=60_000,
    )
    after = _metric(page, "Probability with these changes").inner_text()
    assert after != before
    settle(page)
    page.screenshot(path=str(screenshots / "customer-whatif.png"), full_page=True)

    page.get_by_role("tab", name="Export").click()
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Download report (HTML)").click()
    saved = tmp_path / "report.html"
    download.value.save_as(saved)
    report = saved.read_text()
    assert download.value.suggested_filename.endswith(f"customer-{customer}.html")
    assert "<svg" in report and name in report
    assert "Reasons that raise the risk" in report
    view = build_customer_view(bundle, CustomerStore(bundle), customer, model=model)
    for reason in (*view.raising, *view.lowering):
        assert html.escape(reason.text) in report
    assert page.locator("[data-testid='stException']").count() == 0


_TRUNCATED = """els => els.flatMap(e => [e, ...e.querySelectorAll('*')])
    .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)"""


@pytest.mark.parametrize("which", ["riskiest", "safest"])
def test_a_customer_at_either_extreme_reads_whole_at_1280_px(server, browser, bundle_root, screenshots, which):
    """Metric tiles are not cut off at a 1,280-pixel-wide window, and the reasons of the riskiest and
    the safest customer carry real effects (screenshots kept in test-output/e2e)."""
    bundle = open_bundle(bundle_root / "telco")
    store = CustomerStore(bundle)
    scores = store.probabilities(bundle.manifest["champion"])
    position = int(scores.argmax() if which == "riskiest" else scores.argmin())
    view = build_customer_view(bundle, store, store.customer_id(position))
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    try:
        page.goto(f"{server}/?bundle=telco&customer={view.customer_id}")
        settle(page)
        values = page.locator("[data-testid='stMetricValue']")
        values.first.wait_for(timeout=30_000)
        assert f"{view.probability:.1%}" in values.all_inner_texts()
        assert values.evaluate_all(_TRUNCATED) == []
        for reason in view.reasons:
            page.get_by_text(f"{reason.text} · {reason.effect_text}", exact=True).first.wait_for(timeout=30_000)
        assert page.locator("[data-testid='stException']").count() == 0
        page.locator("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg").first.wait_for(
            timeout=30_000
        )
        page.wait_for_timeout(500)
        page.screenshot(path=str(screenshots / f"customer-{which}.png"), full_page=True)
    finally:
        context.close()

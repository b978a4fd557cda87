"""History in a real browser: the Monitoring page opened by a `?snapshot=` link, a moved customer opened
from it on the Customer page, whose history section explains the move; both pages shareable by URL."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pyarrow.parquet as pq
import pytest

from bundle import history, layout
from tests.e2e.conftest import serve_dashboard, settle

pytestmark = pytest.mark.slow
WAIT_MS = 120_000


@pytest.fixture(scope="module")
def history_server(history_root, tmp_path_factory) -> Iterator[str]:
    with serve_dashboard(history_root, tmp_path_factory.mktemp("streamlit-history") / "server.log") as url:
        yield url


def test_monitoring_link_then_a_moved_customers_history(history_server, history_root, page, screenshots):
    page.goto(f"{history_server}/monitoring?bundle=telco&snapshot=2026-05")
    settle(page, WAIT_MS)
    page.get_by_text("Explanation drift").first.wait_for(timeout=WAIT_MS)
    assert page.get_by_text("Simulated data").count() > 0
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=str(screenshots / "monitoring.png"), full_page=True)

    snapshot = {s.label: s for s in history.open_history(history_root, "telco")}["2026-05"]
    moved = pq.read_table(snapshot.path / history.MOVED).to_pandas()
    customer = str(moved.loc[moved["model"] == "xgboost", layout.ID_COLUMN].iloc[0])
    page.goto(f"{history_server}/?bundle=telco&customer={customer}&model=xgboost&snapshot=2026-05")
    settle(page, WAIT_MS)
    page.get_by_text(re.compile(r"Since 2026-04: .* → .* pts\)")).first.wait_for(timeout=WAIT_MS)
    page.get_by_text("add up to the change in log-odds").first.wait_for(timeout=WAIT_MS)
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=str(screenshots / "customer-history.png"), full_page=True)

    # From the Monitoring page's moved list to the Customer page, keeping the snapshot.
    page.goto(f"{history_server}/monitoring?bundle=telco&snapshot=2026-03")
    settle(page, WAIT_MS)
    page.get_by_role("button", name="Open on the Customer page").click()
    page.wait_for_url(re.compile(r".*customer=.*snapshot=2026-03.*|.*snapshot=2026-03.*customer=.*"), timeout=WAIT_MS)
    settle(page, WAIT_MS)
    page.get_by_text(re.compile(r"Since 2026-02")).first.wait_for(timeout=WAIT_MS)

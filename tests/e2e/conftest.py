"""What every browser journey shares: a real `streamlit run` server on loopback and
headless Debian Chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from bench.server import dashboard_server, free_port  # noqa: F401 - free_port is re-exported for tests
from bundle import layout
from bundle.reader import open_bundle

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
IDLE = "[data-test-script-state='notRunning']"


@contextmanager
def serve_dashboard(artifacts: Path, log: Path, env: dict[str, str | None] | None = None) -> Iterator[str]:
    """`streamlit run dashboard/app.py` over `artifacts` on a free loopback port; yields its URL.
    `env` adds variables (a value of None removes one)."""
    with dashboard_server(artifacts, log, env) as (url, _):
        yield url


def settle(page, timeout_ms: int = 120_000) -> None:
    """Wait until the page is connected and its script has finished running.
    Generous: first runs load models and the 2-core test machine is shared."""
    page.wait_for_selector(CONNECTED, timeout=timeout_ms)
    page.wait_for_selector(IDLE, timeout=timeout_ms)


def champion_scores(bundle_root: Path) -> tuple[list, list]:
    """(ids, probabilities) of the Telco test bundle's champion, in stored order."""
    bundle = open_bundle(bundle_root / "telco")
    table = pq.read_table(bundle.file(layout.predictions_path(bundle.manifest["champion"])))
    return table.column(layout.ID_COLUMN).to_pylist(), table.column(layout.PROBABILITY_COLUMN).to_pylist()


@pytest.fixture(scope="module")
def server(bundle_root: Path, tmp_path_factory) -> Iterator[str]:
    """The dashboard over the shared Telco test bundle."""
    with serve_dashboard(bundle_root, tmp_path_factory.mktemp("streamlit") / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def screenshots(test_output: Path) -> Path:
    """Where a human can look at what the browser saw (`test_output` is git-ignored)."""
    path = test_output / "e2e"
    path.mkdir(parents=True, exist_ok=True)
    return path

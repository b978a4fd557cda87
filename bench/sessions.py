"""N concurrent dashboard sessions against one real Streamlit server on loopback.

One headless Chromium, one browser context per session (20 separate browsers
would saturate a small machine). Each session loops over PAGES — open the URL,
wait until the app is connected and idle and the page's marker is visible — for
a bounded time. Reports p50/p95 page times, errors (timeouts, exceptions shown,
navigation failures) and the server's RSS with 1 session and with N.

Add a page by appending to PAGES: (name, URL path + query with {bundle}/{customer} or
{items_bundle}/{item} placeholders, CSS marker that shows the page has drawn).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from bench.server import dashboard_server
from bundle import layout
from bundle.reader import Bundle

CHROMIUM = "/usr/bin/chromium"
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
IDLE = "[data-test-script-state='notRunning']"

# (name, path template, marker that says the page has drawn)
PAGES: list[tuple[str, str, str]] = [
    ("customer", "/?bundle={bundle}&customer={customer}", "[data-testid='stMetricValue']"),
    ("validation", "/validation?bundle={bundle}", "[data-testid='stTable']"),
    ("models", "/models?bundle={bundle}", "[data-testid='stDataFrame']"),
    # Pages of the items bundle (skipped when there is none).
    ("items", "/items?bundle={items_bundle}&item={item}", "[data-testid='stDataFrame']"),
]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass(frozen=True)
class Targets:
    """What the sessions open: the customer bundle and its IDs, the items bundle and its item IDs."""

    bundle: str
    ids: list
    items_bundle: str | None = None
    items: tuple = ()

    def pages(self) -> list[tuple[str, str, str]]:
        return [p for p in PAGES if self.items_bundle or "{items_bundle}" not in p[1]]


async def _session(context, url: str, targets: Targets, until: float, times: dict, errors: list) -> None:
    page = await context.new_page()
    rng = random.Random(id(context))
    while time.monotonic() < until:
        for name, template, marker in targets.pages():
            target = url + template.format(
                bundle=targets.bundle, customer=rng.choice(targets.ids),
                items_bundle=targets.items_bundle, item=rng.choice(targets.items) if targets.items else "",
            )
            start = time.perf_counter()
            try:
                await page.goto(target, timeout=60_000)
                await page.wait_for_selector(CONNECTED, timeout=60_000)
                await page.wait_for_selector(marker, timeout=60_000)
                await page.wait_for_selector(IDLE, timeout=60_000)
                if await page.locator("[data-testid='stException']").count():
                    errors.append(f"{name}: exception shown")
                    continue
            except Exception as exc:  # noqa: BLE001 - every failure is counted, none stops the bench
                errors.append(f"{name}: {type(exc).__name__}")
                continue
            times.setdefault(name, []).append((time.perf_counter() - start) * 1000)


async def _run(url: str, targets: Targets, sessions: int, seconds: float, server_pid: int) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            # Every context is a tab of one browser: keep the ones not in front from being throttled.
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-renderer-backgrounding", "--disable-background-timer-throttling",
                  "--disable-backgrounding-occluded-windows"],
        )
        try:
            one: dict = {}
            warm = await browser.new_context()
            await _session(warm, url, targets, time.monotonic() + min(10.0, seconds), one, [])
            rss_one = _rss_mb(server_pid)
            contexts = [await browser.new_context() for _ in range(sessions)]
            times: dict[str, list[float]] = {}
            errors: list[str] = []
            until = time.monotonic() + seconds
            await asyncio.gather(*(_session(c, url, targets, until, times, errors) for c in contexts))
            rss_many = _rss_mb(server_pid)
        finally:
            await browser.close()
    every = sorted(t for values in times.values() for t in values)
    return {
        "loads": len(every),
        "errors": len(errors),
        "error_kinds": sorted(set(errors))[:10],
        "p50_ms": statistics.median(every) if every else float("nan"),
        "p95_ms": every[int(0.95 * (len(every) - 1))] if every else float("nan"),
        "per_page_p95_ms": {n: sorted(v)[int(0.95 * (len(v) - 1))] for n, v in times.items()},
        "rss_mb_1_session": rss_one,
        "rss_mb_sessions": rss_many,
    }


def measure(
    bundle: Bundle, artifacts: Path, sessions: int = 20, seconds: float = 60.0, items_bundle: Bundle | None = None
) -> dict:
    """Run the load for `seconds` and return the figures (server started and stopped here).
    `items_bundle` (e.g. movielens) adds the Items page to each session's loop."""
    ids = pq.read_table(bundle.file(layout.CUSTOMERS), columns=[layout.ID_COLUMN]).column(0).to_pylist()
    items: tuple = ()
    if items_bundle is not None:
        items = tuple(pq.read_table(items_bundle.file(layout.ITEMS), columns=["item_id"]).column(0).to_pylist()[:500])
    targets = Targets(bundle.name, ids, items_bundle.name if items else None, items)
    with dashboard_server(artifacts) as (url, proc):
        return {"sessions": sessions, "seconds": seconds, **asyncio.run(_run(url, targets, sessions, seconds, proc.pid))}

"""N concurrent dashboard sessions against one real Streamlit server on loopback.

One headless Chromium, one browser context per session (20 separate browsers
would saturate a small machine). Each session loops over PAGES — open the URL,
wait until the app is connected and idle and the page's marker is visible — for
a bounded time. Reports p50/p95 page times, errors (timeouts, exceptions shown,
navigation failures) and the server's RSS with 1 session and with N.

Add a page by appending to PAGES: (name, URL path + query built from a customer ID, CSS marker).
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyarrow.parquet as pq

from bundle import layout
from bundle.reader import Bundle

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
IDLE = "[data-test-script-state='notRunning']"

# (name, path template, marker that says the page has drawn)
PAGES: list[tuple[str, str, str]] = [
    ("customer", "/?bundle={bundle}&customer={customer}", "[data-testid='stMetricValue']"),
    ("models", "/models?bundle={bundle}", "[data-testid='stDataFrame']"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _serve(artifacts: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "CHURNLENS_ARTIFACTS": str(artifacts.resolve())}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("streamlit did not start within 60 s")


async def _session(context, url: str, bundle: str, ids: list, until: float, times: dict, errors: list) -> None:
    page = await context.new_page()
    rng = random.Random(id(context))
    while time.monotonic() < until:
        for name, template, marker in PAGES:
            target = url + template.format(bundle=bundle, customer=rng.choice(ids))
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


async def _run(url: str, bundle: str, ids: list, sessions: int, seconds: float, server_pid: int) -> dict:
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
            await _session(warm, url, bundle, ids, time.monotonic() + min(10.0, seconds), one, [])
            rss_one = _rss_mb(server_pid)
            contexts = [await browser.new_context() for _ in range(sessions)]
            times: dict[str, list[float]] = {}
            errors: list[str] = []
            until = time.monotonic() + seconds
            await asyncio.gather(*(_session(c, url, bundle, ids, until, times, errors) for c in contexts))
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


def measure(bundle: Bundle, artifacts: Path, sessions: int = 20, seconds: float = 60.0) -> dict:
    """Run the load for `seconds` and return the figures (server started and stopped here)."""
    ids = pq.read_table(bundle.file(layout.CUSTOMERS), columns=[layout.ID_COLUMN]).column(0).to_pylist()
    proc, url = _serve(artifacts)
    try:
        return {"sessions": sessions, "seconds": seconds, **asyncio.run(_run(url, bundle.name, ids, sessions, seconds, proc.pid))}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()

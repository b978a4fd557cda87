"""N concurrent dashboard sessions against one real Streamlit server on loopback.

Each session is a light client speaking Streamlit's own websocket protocol, so the server
does exactly the work a browser tab causes and the client costs next to nothing (20
headless-Chromium contexts saturated a 2-core machine on their own). A page load is what
a browser does when it opens a page's URL: open `/_stcore/stream`, send the `rerun_script`
BackMsg the frontend sends (query string, page name = the URL path under `st.navigation`,
browser context), read ForwardMsgs until the run's `script_finished`, close. Each session
loops over PAGES with random customers and items for a bounded time.

A load counts as an error on a time-out, a connection failure, a page the server does not
know (`page_not_found`), a script that did not finish cleanly, any `exception` element
(what a browser shows as stException), or when the page's marker element never came (e.g.
"Customer page without a Churn probability metric"). The server's RSS is sampled during a
ladder of 1, N/2 and N concurrent sessions; page times and errors come from the N phase.

    python -m bench.sessions [--artifacts artifacts] [--sessions 20] [--seconds 60]

Add a page by appending to PAGES: (name, URL path, query with {bundle}/{customer} or
{items_bundle}/{item} placeholders, element type that shows the page has drawn).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pyarrow.parquet as pq
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin, Subprotocol

from bench.server import dashboard_server
from bundle import layout
from bundle.reader import Bundle, BundleError, open_bundle
from store.items import has_items

PAGE_TIMEOUT_S = 60.0

# (name, URL path, query template, element type that says the page has drawn)
PAGES: list[tuple[str, str, str, str]] = [
    ("customer", "", "bundle={bundle}&customer={customer}", "metric"),
    ("validation", "validation", "bundle={bundle}", "table"),
    ("models", "models", "bundle={bundle}", "dataframe"),
    # A page of the items bundle (skipped when there is none).
    ("items", "items", "bundle={items_bundle}&item={item}", "dataframe"),
]


@dataclass
class PageRun:
    """What one page load sent back: element types drawn, alerts, exceptions, and the verdict."""

    ms: float = float("nan")
    elements: Counter = field(default_factory=Counter)
    alerts: list[tuple[str, str]] = field(default_factory=list)  # (ERROR/WARNING/INFO/SUCCESS, body)
    metrics: list[tuple[str, str]] = field(default_factory=list)  # (label, value)
    exceptions: list[str] = field(default_factory=list)
    page_not_found: bool = False
    finished: int | None = None  # ForwardMsg.ScriptFinishedStatus of the last run
    error: str | None = None

    def judge(self, marker: str | None) -> PageRun:
        """Set `error` from what came back (the first problem found, as a short kind)."""
        if self.error is None:
            if self.page_not_found:
                self.error = "page not found"
            elif self.finished != ForwardMsg.FINISHED_SUCCESSFULLY:
                self.error = f"script finished with status {self.finished}"
            elif self.exceptions:
                self.error = "exception shown"
            elif marker is not None and not self.elements[marker]:
                self.error = f"no {marker} element"
        return self


def read_message(run: PageRun, payload: bytes | str) -> bool:
    """Fold one ForwardMsg into `run`; True once the run has finished."""
    if isinstance(payload, str):
        raise ValueError("the server sent a text frame; Streamlit's protocol is binary")
    msg = ForwardMsg()
    msg.ParseFromString(payload)
    kind = msg.WhichOneof("type")
    if kind == "delta" and msg.delta.WhichOneof("type") in ("new_element", "new_transient"):
        elements = (
            [msg.delta.new_element] if msg.delta.HasField("new_element") else list(msg.delta.new_transient.elements)
        )
        for element in elements:
            element_type = element.WhichOneof("type")
            run.elements[element_type] += 1
            if element_type == "exception":
                run.exceptions.append(f"{element.exception.type}: {element.exception.message}"[:300])
            elif element_type == "alert":
                run.alerts.append((element.alert.Format.Name(element.alert.format), element.alert.body))
            elif element_type == "metric":
                run.metrics.append((element.metric.label, element.metric.body))
    elif kind == "page_not_found":
        # The browser shows a "page not found" dialog over the default page, which runs on.
        run.page_not_found = True
    elif kind == "script_finished":
        # A run the script cut short with st.rerun is followed by the rerun's own messages.
        run.finished = msg.script_finished
        return msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN
    return False


def _rerun_request(url: str, path: str, query: str) -> bytes:
    """The BackMsg the frontend sends when a tab opens `url/path?query`."""
    msg = BackMsg()
    state = msg.rerun_script
    state.query_string = query
    state.page_name = path  # with st.navigation the frontend names the page by its URL path
    state.context_info.timezone = "UTC"
    state.context_info.timezone_offset = 0
    state.context_info.locale = "en-US"
    state.context_info.url = f"{url}/{path}?{query}"
    state.context_info.is_embedded = False
    state.context_info.color_scheme = "light"
    return msg.SerializeToString()


async def open_page(url: str, path: str, query: str, marker: str | None, timeout: float = PAGE_TIMEOUT_S) -> PageRun:
    """Open one page as a new browser tab would (a new session) and judge what it drew.
    `ms` runs from opening the websocket to the run's `script_finished`."""
    run = PageRun()
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            # No cached message hashes are sent, so the server sends every element in full
            # (a fresh tab's forward-message cache is empty too). Like a browser, the client sends
            # no pings of its own (a busy server's late pong would end the session); the
            # server's pings are answered by the library.
            async with connect(
                url.replace("http://", "ws://", 1) + "/_stcore/stream",
                subprotocols=[Subprotocol("streamlit")], origin=Origin(url), max_size=None,
                open_timeout=timeout, ping_interval=None,
            ) as ws:  # fmt: skip
                await ws.send(_rerun_request(url, path, query))
                async for payload in ws:
                    if read_message(run, payload):
                        run.ms = (time.perf_counter() - started) * 1000  # the closing handshake is not timed
                        break
                else:
                    run.error = "connection closed before the run finished"
    except Exception as exc:  # noqa: BLE001 - every failure is counted, none stops the bench
        if math.isnan(run.ms):  # a page already drawn is not failed by a slow closing handshake
            run.error = (
                "timeout" if isinstance(exc, TimeoutError)
                else f"connection closed ({exc})" if isinstance(exc, ConnectionClosed)
                else type(exc).__name__
            )  # fmt: skip
    return run.judge(marker)


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

    def pages(self) -> list[tuple[str, str, str, str]]:
        return [p for p in PAGES if self.items_bundle or "{items_bundle}" not in p[2]]


async def _session(
    seed: int, url: str, targets: Targets, until: float, times: dict, errors: list, rounds: int = 0
) -> None:
    """Load pages until `until`, and at least `rounds` times every page."""
    rng = random.Random(seed)
    pages = targets.pages()
    # Sessions start on different pages, so that every page is loaded even when each session
    # gets through only a few loads in the time given.
    pages = pages[seed % len(pages) :] + pages[: seed % len(pages)]
    done = 0
    while time.monotonic() < until or done < rounds:
        done += 1
        for name, path, template, marker in pages:
            if time.monotonic() >= until and done > rounds:
                return
            values = {
                "bundle": targets.bundle, "customer": rng.choice(targets.ids),
                "items_bundle": targets.items_bundle, "item": rng.choice(targets.items) if targets.items else "",
            }  # fmt: skip
            query = template.format(**{k: quote(str(v), safe="") for k, v in values.items()})
            run = await open_page(url, path, query, marker)
            if run.error is None:
                times.setdefault(name, []).append(run.ms)
            else:
                errors.append(f"{name}: {run.error}")


async def _phase(
    url: str, targets: Targets, sessions: int, seconds: float, pid: int, seed: int, rounds: int = 0
) -> tuple:
    """`sessions` concurrent sessions for `seconds` (and `rounds` of every page at least);
    (page times by page, errors, peak server RSS in MB)."""
    times: dict[str, list[float]] = {}
    errors: list[str] = []
    until = time.monotonic() + seconds
    peak = _rss_mb(pid)
    loading = asyncio.gather(*(_session(seed + i, url, targets, until, times, errors, rounds) for i in range(sessions)))
    while not loading.done():
        peak = max(peak, _rss_mb(pid))
        await asyncio.wait([loading], timeout=0.5)
    await loading
    return times, errors, max(peak, _rss_mb(pid))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))] if ordered else float("nan")


def ladder(sessions: int) -> list[int]:
    """Session counts whose server RSS is recorded: 1, half and all of them."""
    return sorted({1, max(1, sessions // 2), sessions})


async def _run(url: str, targets: Targets, sessions: int, seconds: float, pid: int) -> dict:
    rss: dict[int, float] = {}
    earlier: list[str] = []
    for n in ladder(sessions)[:-1]:
        # Shorter phases before the measured one: their page times only warm the server up. The
        # single session loads every page at least once, so that caches shared by all sessions
        # (bundles, stores, item catalog) are in its figure and growth beyond it is per session.
        _, phase_errors, rss[n] = await _phase(
            url, targets, n, min(seconds, 10.0 if n == 1 else 20.0), pid, seed=1000 * n, rounds=1 if n == 1 else 0
        )
        earlier += phase_errors
    times, errors, rss[sessions] = await _phase(url, targets, sessions, seconds, pid, seed=0)
    every = [t for values in times.values() for t in values]
    return {
        "loads": len(every),
        "errors": len(errors),
        "error_kinds": [f"{kind} ×{count}" for kind, count in Counter(errors).most_common(10)],
        "p50_ms": _pct(every, 0.5),
        "p95_ms": _pct(every, 0.95),
        "per_page": {n: (len(v), _pct(v, 0.5), _pct(v, 0.95)) for n, v in times.items()},
        "rss_mb": rss,
        "earlier_errors": len(earlier),  # in the shorter phases of fewer sessions
    }


def measure(
    bundle: Bundle,
    artifacts: Path,
    sessions: int = 20,
    seconds: float = 60.0,
    items_bundle: Bundle | None = None,
    log: Path | None = None,
) -> dict:
    """Run the load for `seconds` and return the figures (server started and stopped here, its output
    kept in `log`). `items_bundle` (e.g. movielens) adds the Items page to each session's loop."""
    ids = pq.read_table(bundle.file(layout.CUSTOMERS), columns=[layout.ID_COLUMN]).column(0).to_pylist()
    items: tuple = ()
    if items_bundle is not None and has_items(items_bundle.manifest):
        items = tuple(pq.read_table(items_bundle.file(layout.ITEMS), columns=["item_id"]).column(0).to_pylist()[:500])
    targets = Targets(bundle.name, ids, items_bundle.name if items_bundle is not None and items else None, items)
    with dashboard_server(artifacts, log) as (url, proc):
        return {
            "sessions": sessions,
            "seconds": seconds,
            **asyncio.run(_run(url, targets, sessions, seconds, proc.pid)),
        }


def figures(load: dict) -> dict:
    """The flat bench keys of one `measure` result (`sessions20_p95_ms`, `rss_mb_20_sessions`, ...)."""
    n = load["sessions"]
    out = {
        f"sessions{n}_p50_ms": round(load["p50_ms"], 1), f"sessions{n}_p95_ms": round(load["p95_ms"], 1),
        f"sessions{n}_errors": load["errors"], f"sessions{n}_page_loads": load["loads"],
    }  # fmt: skip
    for page, (_, p50, p95) in load["per_page"].items():
        out[f"sessions{n}_{page}_p50_ms"] = round(p50, 1)
        out[f"sessions{n}_{page}_p95_ms"] = round(p95, 1)
    for k, mb in load["rss_mb"].items():
        out["rss_mb_1_session" if k == 1 else f"rss_mb_{k}_sessions"] = round(mb, 1)
    return out


def print_load(load: dict) -> None:
    n = load["sessions"]
    print(f"\n{n} concurrent websocket sessions for {load['seconds']:.0f} s ({load['loads']} page loads):")
    print(
        f"  page time p50 {load['p50_ms']:.0f} ms, p95 {load['p95_ms']:.0f} ms; "
        f"errors {load['errors']} {load['error_kinds']}"
    )
    print(
        "  per page (loads, p50, p95): "
        + "; ".join(
            f"{page} {count}, {p50:.0f} ms, {p95:.0f} ms" for page, (count, p50, p95) in load["per_page"].items()
        )
    )
    print(
        "  server RSS (peak): "
        + ", ".join(f"{mb:.0f} MB with {k}" for k, mb in load["rss_mb"].items())
        + f"; errors with fewer sessions: {load['earlier_errors']}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sessions", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"))
    parser.add_argument("--bundle", default="telco")
    parser.add_argument("--items-bundle", default="movielens", help="bundle with item vectors (skipped if missing)")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--log", type=Path, default=None, help="keep the server's output here")
    args = parser.parse_args(argv)
    from bench.report import record_and_print

    try:
        bundle = open_bundle(args.artifacts / args.bundle)
    except BundleError as exc:
        print(f"{exc} Run `make train` first.", file=sys.stderr)
        return 1
    try:
        items_bundle = open_bundle(args.artifacts / args.items_bundle)
    except BundleError:
        items_bundle = None  # the sessions then load the Telco pages only
    load = measure(bundle, args.artifacts, args.sessions, args.seconds, items_bundle, args.log)
    print_load(load)
    record_and_print(figures(load))
    return 0


if __name__ == "__main__":
    sys.exit(main())

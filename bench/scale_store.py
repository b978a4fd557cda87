"""The customer store at scale, on one published bundle (e.g. a tiled 1M one, bench/tile_bundle.py):

    python -m bench.scale_store --bundle artifacts/telco1m [--sessions 10] [--session-seconds 30]

- `bundle_open_ms`: `open_bundle` (manifest, checksums, structure, the tamper check); `open_check_ms`: the
  tamper check alone (a sample of ~300 stored scores recomputed through every model, bundle/score_sample.py),
  also recorded as `open_check_ms_1m`;
- `store_load_ms`: opening the store (sorted IDs only); `first_lookup_ms`: the first customer
  (it loads the model's probabilities for percentiles);
- `*_cpu_*`: CPU time beside wall time (the measuring thread; the whole process for the open and
  the SHAP load, which use Arrow's threads): on a shared, loaded machine wall time is mostly waiting;
- `lookup_p50_ms`/`lookup_p95_ms`: `CustomerStore.lookup` of distinct random IDs plus reading the champion's
  probability, margin, percentile and SHAP values from the record (rows read from disk);
- `page_p95_ms`: the customer page's data (`bench/customer_page.py`'s measured function);
- `similar_p95_ms`, `find_ms`, `shap_matrix_load_ms`: the Customer page's Similar and Find tabs;
- `store_bytes_per_customer`: what the store holds per customer after all of that;
- `first_page_s`: from starting Streamlit to the first Customer page drawn (read over its websocket);
- `rss_mb_1_session`/`rss_mb_5_sessions`/`rss_mb_10_sessions`: the server's peak RSS under 1, 5 and 10
  concurrent websocket sessions (bench/sessions.py).

Keys get a `_1m` suffix on a bundle of at least 1M customers (`page_p95_ms_1m`, `rss_mb_1m_10_sessions`),
`_7k`-style suffixes otherwise (customer count rounded, in thousands).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

import numpy as np

from bench import customer_page
from bench.server import dashboard_server
from bundle.files import Bundle
from bundle.reader import open_bundle
from bundle.score_sample import score_sample_problems
from dashboard.views import build_customer_view
from dashboard.views.customer.similar import find_customers
from store.customers import CustomerStore


def suffix(customers: int) -> str:
    return "1m" if customers >= 1_000_000 else f"{max(1, round(customers / 1000))}k"


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


def _timed(work, positions, cpu_clock=time.thread_time) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of `work(position)` for each position (CPU: this thread's, unless told)."""
    wall, cpu = [], []
    for pos in positions:
        started, started_cpu = time.perf_counter(), cpu_clock()
        work(int(pos))
        wall.append(time.perf_counter() - started)
        cpu.append(cpu_clock() - started_cpu)
    return wall, cpu


def _lookup_timings(store: CustomerStore, model: str, positions: np.ndarray) -> dict:
    def lookup(pos: int) -> None:
        # What a page reads of one customer: features and the shown model's numbers (records are lazy).
        record = store.lookup(str(store.customer_id(pos)))
        record.probability[model], record.margin[model], record.percentile[model], record.shap[model]

    started = time.perf_counter()
    lookup(int(positions[0]))
    first_ms = (time.perf_counter() - started) * 1000
    timings, cpu = _timed(lookup, positions[1:])
    started, started_cpu = time.perf_counter(), time.process_time()
    store.shap_matrix(model)
    matrix_ms, matrix_cpu_ms = (time.perf_counter() - started) * 1000, (time.process_time() - started_cpu) * 1000
    # The whole process's CPU: the nearest-neighbour search may run on BLAS threads.
    similar, similar_cpu = _timed(lambda pos: store.nearest(model, pos, 5), positions[:50], time.process_time)
    return {
        "first_lookup_ms": first_ms,
        "lookup_p50_ms": _pct(timings, 50),
        "lookup_p95_ms": _pct(timings, 95),
        "lookup_cpu_p95_ms": _pct(cpu, 95),
        "shap_matrix_load_ms": matrix_ms,
        "shap_matrix_load_cpu_ms": matrix_cpu_ms,
        "similar_p95_ms": _pct(similar, 95),
        "similar_cpu_p95_ms": _pct(similar_cpu, 95),
    }


def open_check_ms(bundle: Bundle) -> float:
    """Milliseconds of the open-time tamper check alone (part of `bundle_open_ms`): a sample of
    stored scores recomputed through every model (bundle/score_sample.py)."""
    started = time.perf_counter()
    problems = score_sample_problems(bundle)
    elapsed = (time.perf_counter() - started) * 1000
    if problems:
        raise RuntimeError(f"the bundle fails its own open check: {problems}")
    return elapsed


def measure_store(bundle_path: Path | str, lookups: int = 1000, seed: int = 0) -> dict:
    """Server-side figures of the store (no Streamlit), in milliseconds unless named otherwise."""
    started, started_cpu = time.perf_counter(), time.process_time()
    bundle = open_bundle(bundle_path)
    open_ms, open_cpu_ms = (time.perf_counter() - started) * 1000, (time.process_time() - started_cpu) * 1000
    check_ms = open_check_ms(bundle)
    started = time.perf_counter()
    store = CustomerStore(bundle)
    load_ms = (time.perf_counter() - started) * 1000
    n = len(store)
    rng = np.random.default_rng(seed)
    positions = rng.choice(n, size=min(lookups + 1, n), replace=False)
    model = bundle.manifest["champion"]
    lookup_figures = _lookup_timings(store, model, positions)
    started = time.perf_counter()
    find_customers(store, bundle.manifest, model, "high", "any")
    find_ms = (time.perf_counter() - started) * 1000
    held = sum(size for _, size in store.held().values())
    page = customer_page.measure(bundle, lookups, seed)
    # The same page data with the CPU time of this thread beside it: on a shared, loaded machine
    # wall time is mostly waiting for a core.
    _, page_cpu = _timed(
        lambda pos: build_customer_view(bundle, store, str(store.customer_id(pos))),
        rng.choice(n, size=min(200, n), replace=False),
    )
    return {
        "customers": n,
        "bundle_open_ms": open_ms,
        "bundle_open_cpu_ms": open_cpu_ms,
        "open_check_ms": check_ms,
        "store_load_ms": load_ms,
        **lookup_figures,
        "find_ms": find_ms,
        "store_bytes_per_customer": held / n,
        "page_p50_ms": page["median_ms"],
        "page_p95_ms": page["p95_ms"],
        "page_cpu_p95_ms": _pct(page_cpu, 95),
    }


def first_page_s(bundle_path: Path) -> float:
    """Seconds from launching Streamlit to the first Customer page drawn (bundle opened, verified,
    store loaded, page drawn), read over Streamlit's websocket as a browser tab would (bench/sessions.py)."""
    from bench import sessions

    bundle = open_bundle(bundle_path)
    customer = CustomerStore(bundle).example_ids(1)[0]
    _, path, template, marker = sessions.PAGES[0]
    started = time.perf_counter()
    with dashboard_server(Path(bundle_path).parent) as (url, _):
        run = asyncio.run(
            sessions.open_page(url, path, template.format(bundle=bundle.name, customer=customer), marker, timeout=120.0)
        )
        if run.error is not None:
            raise RuntimeError(f"the first Customer page failed: {run.error} {run.exceptions or run.alerts}")
        return time.perf_counter() - started


def measure(bundle_path: Path | str, lookups: int = 1000, sessions_n: int = 10, seconds: float = 30.0) -> dict:
    """Every figure, as flat bench keys suffixed by the bundle's size (see the module docstring)."""
    bundle_path = Path(bundle_path)
    figures = measure_store(bundle_path, lookups)
    tag = suffix(figures["customers"])
    out = {f"scale_{k}_{tag}": round(v, 3) for k, v in figures.items() if k != "customers"}
    out[f"scale_customers_{tag}"] = figures["customers"]
    out[f"page_p95_ms_{tag}"] = round(figures["page_p95_ms"], 3)
    out[f"open_check_ms_{tag}"] = round(figures["open_check_ms"], 1)  # the issue-21 key: open_check_ms_1m
    out[f"first_page_s_{tag}"] = round(first_page_s(bundle_path), 2)
    if sessions_n > 0:
        from bench import sessions

        load = sessions.measure(open_bundle(bundle_path), bundle_path.parent, sessions_n, seconds)
        for n, mb in load["rss_mb"].items():
            out[f"rss_mb_{tag}_1_session" if n == 1 else f"rss_mb_{tag}_{n}_sessions"] = round(mb, 1)
        out[f"scale_sessions{sessions_n}_p95_ms_{tag}"] = round(load["p95_ms"], 1)
        out[f"scale_sessions{sessions_n}_errors_{tag}"] = load["errors"]
        out[f"scale_sessions{sessions_n}_page_loads_{tag}"] = load["loads"]
        out[f"scale_sessions{sessions_n}_error_kinds_{tag}"] = "; ".join(load["error_kinds"])
    out[f"scale_load_average_{tag}"] = round(os.getloadavg()[0], 1)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale_store", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bundle", type=Path, required=True, help="a published bundle: ROOT/NAME")
    parser.add_argument("--lookups", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=10, help="concurrent websocket sessions (0: skip)")
    parser.add_argument("--session-seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    from bench.report import record_and_print

    figures = measure(args.bundle, args.lookups, args.sessions, args.session_seconds)
    record_and_print(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())

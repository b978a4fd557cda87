"""`python -m bench`: run every benchmark on published bundles, print the figures and
write them as flat keys to test-output/bench.json (see bench/report.py)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from bundle.reader import BundleError, open_bundle

SHAP_TARGET = 1.10
PAGE_P95_TARGET_MS = 100.0
NEIGHBOUR_1M_TARGET_MS = 20.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"))
    parser.add_argument("--bundle", default="telco")
    parser.add_argument("--rows", type=int, default=100_000, help="rows to explain (the bundle's rows, tiled)")
    parser.add_argument("--cores", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--customers", type=int, default=200, help="customers timed by the live Customer page bench")
    parser.add_argument("--skip-spark", action="store_true", help="skip the Spark batch-SHAP benchmark")
    parser.add_argument("--sessions", type=int, default=20, help="concurrent websocket sessions (0: skip)")
    parser.add_argument("--session-seconds", type=float, default=60.0, help="how long the sessions load pages")
    parser.add_argument("--items-bundle", default="movielens", help="bundle with item vectors (skipped if missing)")
    parser.add_argument(
        "--scale-bundle",
        type=Path,
        default=None,
        help="also run bench.scale_store on this bundle (ROOT/NAME, e.g. a tiled 1M one)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:
        bundle = open_bundle(args.artifacts / args.bundle)
    except BundleError as exc:
        print(f"{exc} Run `make train` first.", file=sys.stderr)
        return 1
    from bench.report import BENCH_JSON, record

    print(f"bundle {bundle.name} run {bundle.run_id} ({bundle.manifest['dataset']['rows']} customers)\n")
    record({"bundle_run": bundle.run_id})
    _training_stages(bundle)
    if not args.skip_spark:
        _spark_shap(bundle, args)
    _lookups(bundle, args.lookups)
    _live(bundle, args.customers)
    _ds_pages(bundle, args.repeats)
    _items(args.artifacts / args.items_bundle)
    if args.sessions > 0:
        _sessions(bundle, args)
    if args.scale_bundle is not None:
        _scale(args.scale_bundle, args.sessions)
    print(f"\nFigures written to {BENCH_JSON}")
    return 0


def _training_stages(bundle) -> None:
    from bench import training_stages
    from bench.report import record

    stages = training_stages.measure(bundle)
    if stages:
        record(stages)
        print(
            f"Training run (manifest timings): partial dependence stage {stages['pdp_stage_s']:.1f} s "
            f"of {stages['training_run_s']:.1f} s ({stages['pdp_stage_share']:.0%})\n"
        )


def _lookups(bundle, lookups: int) -> None:
    from bench import customer_page
    from bench.report import record

    page = customer_page.measure(bundle, lookups)
    verdict = "meets" if page["p95_ms"] <= PAGE_P95_TARGET_MS else "MISSES"
    print(
        f"Customer lookup (store + waterfall), {page['lookups']:,} random IDs; store load once per process "
        f"{page['store_load_s'] * 1000:.0f} ms:"
    )
    print(
        f"  median {page['median_ms']:.2f} ms, p95 {page['p95_ms']:.2f} ms, max {page['max_ms']:.2f} ms"
        f"  ({verdict} target p95 ≤ {PAGE_P95_TARGET_MS:.0f} ms)\n"
    )
    record(
        {
            "customer_lookup_median_ms": page["median_ms"],
            "customer_lookup_p95_ms": page["p95_ms"],
            "store_load_ms": page["store_load_s"] * 1000,
        }
    )


def _live(bundle, customers: int) -> None:
    from bench import customer_live
    from bench.report import record

    live = customer_live.measure(bundle, customers)
    print(
        f"Customer page, live parts ({live['customer_bench_customers']} random customers; champion "
        f"{bundle.manifest['champion']}, slowest model {live['slowest_model']}):"
    )
    for key, target in customer_live.TARGETS_MS.items():
        verdict = "meets" if live[f"{key}_p95_ms"] <= target else "MISSES"
        print(
            f"  {key + '_p95_ms':16} {live[f'{key}_p95_ms']:8.1f}  (p50 {live[f'{key}_p50_ms']:.1f}; "
            f"CPU p95 {live[f'{key}_cpu_p95_ms']:.1f}; {verdict} ≤ {target:.0f})"
        )
    print(f"  load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  runtime_parity_max_abs {live['runtime_parity_max_abs']:.2e}")
    record(live)


def _ds_pages(bundle, repeats: int) -> None:
    from bench import ds_pages
    from bench.report import record

    pages = ds_pages.measure(bundle, repeats)
    print(f"\nData-science page data (median of {repeats}; loading once per run {pages['ds_pages_load_ms']:.0f} ms):")
    for key in ("validation_page_ms", "global_page_ms", "cohort_filter_ms"):
        print(f"  {key}: {pages[key]:.1f} ms")
    for key in ("group_metrics_page_ms", "error_analysis_page_ms"):
        if key in pages:  # bundles trained before schema 5 have no audit
            verdict = "meets" if pages[key] <= 100 else "MISSES"
            print(
                f"  {key}: {pages[key]:.1f} ms ({verdict} ≤ 100; audit tables loaded once "
                f"{pages['audit_load_ms']:.0f} ms)"
            )
    record(pages)


def _sessions(bundle, args) -> None:
    from bench import sessions
    from bench.report import record

    try:
        items_bundle = open_bundle(args.artifacts / args.items_bundle)
    except BundleError:
        items_bundle = None  # the sessions then load the Telco pages only
    load = sessions.measure(bundle, args.artifacts, args.sessions, args.session_seconds, items_bundle)
    sessions.print_load(load)
    record(sessions.figures(load))


def _scale(scale_bundle: Path, sessions_n: int) -> None:
    from bench import scale_store
    from bench.report import record

    scale = scale_store.measure(scale_bundle, sessions_n=min(sessions_n, 10))
    record(scale)
    print(f"\nCustomer store at scale ({scale_bundle}):")
    for key, value in scale.items():
        print(f"  {key:40} {value}")


def _spark_shap(bundle, args) -> None:
    from bench import shap_throughput
    from bench.report import record

    shap = shap_throughput.measure(bundle, args.rows, args.cores, args.repeats)
    print(
        f"Batch SHAP, XGBoost, {shap['rows']:,} rows on {shap['cores']} cores "
        f"(median of {args.repeats} alternating runs):"
    )
    print(f"  {'':32}{'seconds':>10}{'rows/s':>12}")
    print(f"  {'raw xgboost pred_contribs':32}{shap['baseline_s']:>10.2f}{shap['baseline_rows_per_s']:>12,.0f}")
    print(f"  {'Spark mapInArrow stage':32}{shap['spark_s']:>10.2f}{shap['spark_rows_per_s']:>12,.0f}")
    verdict = "meets" if shap["ratio"] <= SHAP_TARGET else "MISSES"
    low, high = shap["ratio_range"]
    print(
        f"  ratio Spark / raw: {shap['ratio']:.2f}x, paired runs {low:.2f}-{high:.2f}x  "
        f"({verdict} target ≤ {SHAP_TARGET}x)\n"
    )
    record(
        {
            "shap_rows": shap["rows"],
            "shap_raw_s": shap["baseline_s"],
            "shap_spark_s": shap["spark_s"],
            "shap_spark_over_raw": shap["ratio"],
            "shap_spark_over_raw_min": low,
            "shap_spark_over_raw_max": high,
        }
    )


def _items(path: Path) -> None:
    from bench import items
    from bench.report import record
    from store.items import has_items

    try:
        bundle = open_bundle(path)
    except BundleError as exc:
        print(f"\nItem neighbours: skipped ({exc})")
        return
    if not has_items(bundle.manifest):
        print(f"\nItem neighbours: skipped (bundle {bundle.name} has no item vectors)")
        return
    figures = items.measure(bundle)
    record(figures)
    verdict = "meets" if figures["neighbour_query_ms_1m"] <= NEIGHBOUR_1M_TARGET_MS else "MISSES"
    print(f"\nItem neighbours (exact cosine top-10, NumPy float32), bundle {bundle.name}:")
    print(
        f"  {figures['neighbour_items']:,} items: median {figures['neighbour_query_ms']:.3f} ms, "
        f"p95 {figures['neighbour_query_p95_ms']:.3f} ms"
    )
    print(
        f"  1,000,000 × 64 random: median {figures['neighbour_query_ms_1m']:.1f} ms, "
        f"p95 {figures['neighbour_query_p95_ms_1m']:.1f} ms"
        f"  ({verdict} target ≤ {NEIGHBOUR_1M_TARGET_MS:.0f} ms)"
    )
    print(
        f"  map: {figures['item_map_points']:,} points, "
        f"{figures['item_map_payload_bytes'] / 1024:.0f} KiB Vega-Lite spec"
    )

    from bench import customer_items

    recent = customer_items.measure(bundle)
    record(recent)
    print("\nOne customer's recent items (row groups found from the footer's ID ranges; pyarrow filters beside):")
    print(
        f"  {recent['customer_items_rows']:,} rows: median {recent['customer_items_lookup_ms']:.2f} ms, "
        f"p95 {recent['customer_items_lookup_p95_ms']:.2f} ms (filters {recent['customer_items_filters_ms']:.2f} ms)"
    )
    print(
        f"  1M customers × 20 (generated): median {recent['customer_items_lookup_ms_20m']:.2f} ms, "
        f"p95 {recent['customer_items_lookup_p95_ms_20m']:.2f} ms "
        f"(filters {recent['customer_items_filters_ms_20m']:.2f} ms); "
        f"open {recent['customer_items_open_ms_20m']:.0f} ms, "
        f"footer held {recent['customer_items_footer_kb_20m']:.0f} KB"
    )


if __name__ == "__main__":
    sys.exit(main())

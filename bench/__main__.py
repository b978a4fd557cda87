"""`python -m bench`: run every benchmark on a published bundle and print figures."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from bundle.reader import BundleError, open_bundle

SHAP_TARGET = 1.15
PAGE_P95_TARGET_MS = 100.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"))
    parser.add_argument("--bundle", default="telco")
    parser.add_argument("--rows", type=int, default=100_000, help="rows to explain (the bundle's rows, tiled)")
    parser.add_argument("--cores", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--lookups", type=int, default=2000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:
        bundle = open_bundle(args.artifacts / args.bundle)
    except BundleError as exc:
        print(f"{exc} Run `make train` first.", file=sys.stderr)
        return 1

    from bench import customer_page, shap_throughput

    print(f"bundle {bundle.name} run {bundle.run_id} ({bundle.manifest['dataset']['rows']} customers)\n")
    shap = shap_throughput.measure(bundle, args.rows, args.cores, args.repeats)
    print(f"Batch SHAP, XGBoost, {shap['rows']:,} rows on {shap['cores']} cores (median of {args.repeats} alternating runs):")
    print(f"  {'':32}{'seconds':>10}{'rows/s':>12}")
    print(f"  {'raw xgboost pred_contribs':32}{shap['baseline_s']:>10.2f}{shap['baseline_rows_per_s']:>12,.0f}")
    print(f"  {'Spark mapInPandas stage':32}{shap['spark_s']:>10.2f}{shap['spark_rows_per_s']:>12,.0f}")
    verdict = "meets" if shap["ratio"] <= SHAP_TARGET else "MISSES"
    low, high = shap["ratio_range"]
    print(f"  ratio Spark / raw: {shap['ratio']:.2f}x, paired runs {low:.2f}-{high:.2f}x  ({verdict} target ≤ {SHAP_TARGET}x)\n")

    page = customer_page.measure(bundle, args.lookups)
    print(f"Customer page data (lookup + waterfall), {page['lookups']:,} random IDs:")
    print(f"  store load (once per process): {page['store_load_s'] * 1000:.0f} ms")
    verdict = "meets" if page["p95_ms"] <= PAGE_P95_TARGET_MS else "MISSES"
    print(f"  median {page['median_ms']:.2f} ms, p95 {page['p95_ms']:.2f} ms, max {page['max_ms']:.2f} ms"
          f"  ({verdict} target p95 ≤ {PAGE_P95_TARGET_MS:.0f} ms)")

    from bench import ds_pages
    from bench.report import record

    pages = ds_pages.measure(bundle, args.repeats)
    print(f"\nData-science page data (median of {args.repeats}; loading once per run {pages['ds_pages_load_ms']:.0f} ms):")
    for key in ("validation_page_ms", "global_page_ms", "cohort_filter_ms"):
        print(f"  {key}: {pages[key]:.1f} ms")
    print(f"  written to {record(pages)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
    parser.add_argument("--customers", type=int, default=200, help="customers timed by the live Customer page bench")
    parser.add_argument("--skip-spark", action="store_true", help="skip the Spark batch-SHAP benchmark")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:
        bundle = open_bundle(args.artifacts / args.bundle)
    except BundleError as exc:
        print(f"{exc} Run `make train` first.", file=sys.stderr)
        return 1

    from bench import customer_live, customer_page, report

    print(f"bundle {bundle.name} run {bundle.run_id} ({bundle.manifest['dataset']['rows']} customers)\n")
    if not args.skip_spark:
        _spark_shap(bundle, args)
    page = customer_page.measure(bundle, args.lookups)
    print(f"Customer page data (lookup + waterfall), {page['lookups']:,} random IDs:")
    print(f"  store load (once per process): {page['store_load_s'] * 1000:.0f} ms")
    verdict = "meets" if page["p95_ms"] <= PAGE_P95_TARGET_MS else "MISSES"
    print(f"  median {page['median_ms']:.2f} ms, p95 {page['p95_ms']:.2f} ms, max {page['max_ms']:.2f} ms"
          f"  ({verdict} target p95 ≤ {PAGE_P95_TARGET_MS:.0f} ms)\n")
    report.record({"customer_lookup_p95_ms": page["p95_ms"], "customer_lookup_p50_ms": page["median_ms"]})

    live = customer_live.measure(bundle, args.customers)
    print(f"Customer page, live parts ({live['customer_bench_customers']} random customers; champion "
          f"{bundle.manifest['champion']}, slowest model {live['slowest_model']}):")
    for key, target in customer_live.TARGETS_MS.items():
        verdict = "meets" if live[f"{key}_p95_ms"] <= target else "MISSES"
        print(f"  {key + '_p95_ms':16} {live[f'{key}_p95_ms']:8.1f}  (p50 {live[f'{key}_p50_ms']:.1f}; "
              f"CPU p95 {live[f'{key}_cpu_p95_ms']:.1f}; {verdict} ≤ {target:.0f})")
    print(f"  load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  runtime_parity_max_abs {live['runtime_parity_max_abs']:.2e}")
    report.record(live)
    print(f"\nFigures written to {report.BENCH_JSON}")
    return 0


def _spark_shap(bundle, args) -> None:
    from bench import report, shap_throughput

    shap = shap_throughput.measure(bundle, args.rows, args.cores, args.repeats)
    print(f"Batch SHAP, XGBoost, {shap['rows']:,} rows on {shap['cores']} cores (median of {args.repeats} alternating runs):")
    print(f"  {'':32}{'seconds':>10}{'rows/s':>12}")
    print(f"  {'raw xgboost pred_contribs':32}{shap['baseline_s']:>10.2f}{shap['baseline_rows_per_s']:>12,.0f}")
    print(f"  {'Spark mapInPandas stage':32}{shap['spark_s']:>10.2f}{shap['spark_rows_per_s']:>12,.0f}")
    verdict = "meets" if shap["ratio"] <= SHAP_TARGET else "MISSES"
    low, high = shap["ratio_range"]
    print(f"  ratio Spark / raw: {shap['ratio']:.2f}x, paired runs {low:.2f}-{high:.2f}x  ({verdict} target ≤ {SHAP_TARGET}x)\n")
    report.record({"spark_shap_ratio": shap["ratio"], "spark_shap_rows_per_s": shap["spark_rows_per_s"]})


if __name__ == "__main__":
    sys.exit(main())

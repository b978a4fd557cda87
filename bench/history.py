"""A bundle's history at scale: one customer's lookup, the Monitoring page's data, a snapshot's size and scoring time.

    python -m bench.history [--customers 1000000] [--snapshots 12] [--root /tmp/history-bench]
    python -m bench.history --score-bundle artifacts/telco --score-customers 1000000

- `history_lookup_ms_<size>` (p95) / `history_lookup_p50_ms_<size>`: `HistoryStore.customer` of random IDs over
  every snapshot, with features and SHAP values of the last two (what the Customer page's history section
  reads), the store opened beforehand;
- `history_open_ms_<size>`: opening the store (index, every snapshot.json, row-group statistics; no hashing);
- `monitoring_page_ms_<size>`: `build_monitoring_view` on the latest snapshot (median of 5; it reads only the
  stored aggregates and moved.parquet, as every rerun of the page does);
- `snapshot_bytes_per_customer`: the bytes one snapshot folder adds per customer (all models' SHAP included);
- `snapshot_score_s_<size>` (with --score-bundle): `training score --snapshot` end to end on Spark (the
  bundle's Telco customers tiled to the size with new IDs, through the simulated-month generator).

The first four are measured on synthetic snapshots written through the real append path
(`bundle.history_writer`, `training.history.finisher`) without Spark: `<size>` customers, 20 numeric features,
4 models; IDs are shuffled out by 1 % a snapshot so absent customers exist. Keys are named by size like
bench/scale_store.py's (`_1m` at a million).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from analytics import history_stats
from bench.report import record_and_print
from bench.scale_store import suffix
from bundle import history, layout
from bundle.history_writer import append_snapshot, stage_snapshot
from bundle.writer import write_rebatched
from dashboard.views.monitoring import build_monitoring_view
from store.history import HistoryStore
from training.history import finisher

FEATURES = [f"f{j:02d}" for j in range(20)]
MODELS = ["logistic", "gbt", "xgboost", "sklearn"]
NAME = "bench"
CHUNK = 262_144


def _meta(label: str, rows: int) -> dict:
    cuts = {"high": 0.6, "medium": 0.35}
    return {
        "label": label, "kind": "scored", "generation": "bench-generation", "created_at": "2026-12-01T00:00:00+00:00",
        "source": "synthetic (bench/history.py)", "simulated": True, "rows": rows, "features": FEATURES,
        "labels": {f: f for f in FEATURES},
        "models": {m: {"display_name": m, "threshold": 0.5, "risk_bands": cuts,
                       "calibration": {"slope": 1.0, "intercept": 0.0}} for m in MODELS},
    }  # fmt: skip


def _batches(ids: np.ndarray, rng: np.random.Generator, shift: float) -> tuple[pa.Schema, list[pa.RecordBatch]]:
    fields = [pa.field(layout.ID_COLUMN, pa.int64()), *(pa.field(f, pa.float64()) for f in FEATURES)]
    for m in MODELS:
        fields += [
            pa.field(history.probability_column(m), pa.float64()),
            pa.field(history.margin_column(m), pa.float64()),
        ]
        fields += [pa.field(history.shap_column(m, f), pa.float64()) for f in FEATURES]
    schema = pa.schema(fields)
    batches = []
    for start in range(0, len(ids), CHUNK):
        n = len(ids[start : start + CHUNK])
        # Values on a grid, like real features (categories, whole months, cents) and tree SHAP values (one
        # per leaf path): random doubles would not compress at all and overstate the bytes per customer.
        x = np.round(rng.normal(shift, 1.0, (n, len(FEATURES))), 1)
        arrays = [pa.array(ids[start : start + CHUNK]), *(pa.array(x[:, j]) for j in range(len(FEATURES)))]
        for k, _ in enumerate(MODELS):
            phi = x * (0.1 + 0.01 * k)
            margin = phi.sum(axis=1) - 1.0
            arrays += [pa.array(1 / (1 + np.exp(-margin))), pa.array(margin)]
            arrays += [pa.array(phi[:, j]) for j in range(len(FEATURES))]
        batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
    return schema, batches


def _figures(batches: list[pa.RecordBatch], reference: dict[str, np.ndarray]) -> dict:
    table = pa.Table.from_batches(batches)
    features = [
        history_stats.feature_drift({"name": f, "type": "numeric", "label": f}, pd.Series(reference[f]),
                                    table[f].to_pandas()) for f in FEATURES
    ]  # fmt: skip
    models = {}
    for m in MODELS:
        phi = np.column_stack([table[history.shap_column(m, f)].to_numpy() for f in FEATURES])
        p = table[history.probability_column(m)].to_numpy()
        models[m] = {
            "score_histogram": history_stats.score_histogram(p), "threshold": 0.5,
            "share_flagged": float(np.mean(p >= 0.5)), "mean_probability": float(np.mean(p)),
            **history_stats.explanation_figures(phi, reference[f"phi:{m}"], FEATURES),
        }  # fmt: skip
    return {"rows": table.num_rows, "score_bins": history_stats.SCORE_BINS, "thresholds": {},
            "features": features, "models": models}  # fmt: skip


def build(root: Path, customers: int, snapshots: int, seed: int = 0) -> None:
    """`snapshots` synthetic snapshots of about `customers` customers in `root`'s history of bundle 'bench'."""
    rng = np.random.default_rng(seed)
    everyone = np.arange(1, int(customers * 1.01) + 1, dtype=np.int64) * 7
    reference: dict[str, np.ndarray] = {}
    for k in range(snapshots):
        ids = np.sort(rng.choice(everyone, size=customers, replace=False))
        schema, batches = _batches(ids, rng, shift=0.05 * k)
        if not reference:
            sample = pa.Table.from_batches(batches).slice(0, 100_000)
            reference = {f: sample[f].to_numpy() for f in FEATURES}
            reference |= {
                f"phi:{m}": np.column_stack([sample[history.shap_column(m, f)].to_numpy() for f in FEATURES])
                for m in MODELS
            }
        with stage_snapshot(root, NAME) as staged:
            write_rebatched(staged.target(history.ROWS), schema, batches, rows_per_group=history.ROW_GROUP_ROWS)
            meta = _meta(f"2026-{k + 1:02d}", customers)
            append_snapshot(staged, meta, finisher(_figures(batches, reference), meta))


def measure(root: Path, lookups: int = 200, seed: int = 1) -> dict:
    started = time.perf_counter()
    store = HistoryStore.open(root, NAME)
    open_ms = (time.perf_counter() - started) * 1000
    customers = store.snapshots[-1].meta["rows"]
    ids = np.random.default_rng(seed).integers(1, int(customers * 1.01), size=lookups) * 7
    timings = []
    labels = [s.label for s in store.snapshots]
    for customer in ids:
        started = time.perf_counter()
        store.customer(int(customer), "xgboost", detail=set(labels[-2:]))
        timings.append((time.perf_counter() - started) * 1000)
    page = []
    for _ in range(5):
        started = time.perf_counter()
        build_monitoring_view(store.snapshots, "xgboost", None)
        page.append((time.perf_counter() - started) * 1000)
    folder = store.snapshots[-1].path
    size = sum(p.stat().st_size for p in folder.iterdir())
    tag = suffix(customers)
    return {
        f"history_lookup_ms_{tag}": round(float(np.percentile(timings, 95)), 2),
        f"history_lookup_p50_ms_{tag}": round(float(np.percentile(timings, 50)), 2),
        f"history_open_ms_{tag}": round(open_ms, 1),
        f"history_snapshots_{tag}": len(store),
        f"monitoring_page_ms_{tag}": round(float(np.median(page)), 1),
        "snapshot_bytes_per_customer": round(size / customers, 1),
    }


def score_time(bundle_dir: Path, customers: int) -> dict:
    """`training score --snapshot` on the bundle's customers tiled to `customers` (new IDs), one Spark session."""
    from bundle.reader import open_bundle
    from training.datasets import monthly
    from training.snapshot import score_snapshot
    from training.spark import get_spark

    with tempfile.TemporaryDirectory(prefix="history-score-") as tmp:
        root = Path(tmp) / "artifacts"
        (root / ".runs").mkdir(parents=True)
        shutil.copytree(bundle_dir.resolve(), root / ".runs" / "telco" / "run", symlinks=True)
        (root / "telco").symlink_to(Path(".runs") / "telco" / "run")
        first = monthly.months(monthly.telco_first_month(), 2)[0]
        copies = -(-customers // len(first))
        tiled = pd.concat(
            [first.assign(rownames=first["rownames"] + k * 10_000_000) for k in range(copies)], ignore_index=True
        ).head(customers)
        source = Path(tmp) / "month.parquet"
        tiled.to_parquet(source, index=False)
        spark = get_spark("churnlens-bench-history", "local[*]")
        try:
            started = time.perf_counter()
            score_snapshot(spark, open_bundle(root / "telco", name="telco"), str(source), None, "bench", True)
            seconds = time.perf_counter() - started
        finally:
            spark.stop()
    return {f"snapshot_score_s_{suffix(customers)}": round(seconds, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.history", description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--snapshots", type=int, default=12)
    parser.add_argument("--root", type=Path, help="where to build the synthetic history (default: a temp folder)")
    parser.add_argument("--score-bundle", type=Path, help="also time `training score --snapshot` on this bundle")
    parser.add_argument("--score-customers", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    if args.score_bundle is not None:
        record_and_print(score_time(args.score_bundle, args.score_customers))
        return 0
    root = args.root or Path(tempfile.mkdtemp(prefix="history-bench-"))
    try:
        build(root, args.customers, args.snapshots)
        record_and_print(measure(root))
    finally:
        if args.root is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

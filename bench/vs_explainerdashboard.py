"""This project's training stages against explainerdashboard, from the same XGBoost model.

    python -m bench.vs_explainerdashboard [--bundle artifacts/telco] [--sizes 10000 100000] [--quick]

For each size the bundle's customers are tiled to that many (new unique IDs, rows are copies:
`bench.tile_bundle.tiled_rows`) and both sides compute per-customer SHAP contributions, mean
|SHAP| and permutation importances, and partial dependence for every feature from the bundle's
XGBoost booster, each side in its own subprocess (so neither pays for the other's memory):

- explainerdashboard 0.5.8 with its default settings (`bench/ed_side.py`, in the bench-only
  `.venv-ed` built by `make bench-ed`; never a product dependency), given the encoded slots;
- this project (`bench/ed_ours.py`, the product venv): the pipeline's own stages on `local[2]`.

While each child runs, the whole process tree under it (driver Python, JVM, Spark's Python
workers) is sampled from /proc every 50 ms; its peak summed RSS is what the machine pays (also
the summed PSS, every 0.5 s, which counts pages shared by forked workers once, and the JVM's own
peak RSS). Figures go to
test-output/bench.json as flat keys (`figures` below), except with `--quick` (2,000 customers,
printed only). Before a full run it waits (up to 40 minutes) for the 1-minute load average to
fall below 2.5, and records what it was.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from bench import report
from bench.scale_training import size_label
from bench.tile_bundle import tiled_rows
from bundle import layout
from bundle.models import portable_files
from bundle.reader import Bundle, BundleError, open_bundle
from runtime.encoding import encode_rows

REPO = Path(__file__).resolve().parents[1]
ED_PYTHON = REPO / ".venv-ed" / "bin" / "python"
SAMPLE_S = 0.05
PSS_EVERY = 10  # ticks: smaps_rollup walks every page table, too costly to read every 50 ms
ED_PARTS = ("imports", "load", "explainer", "shap", "mean_abs_shap", "permutation", "pdp", "dashboard")
ED_COMPUTE = ("explainer", "shap", "mean_abs_shap", "permutation", "pdp")
OURS_PARTS = (
    "imports",
    "spark_start",
    "read",
    "pipeline_load",
    "encode",
    "shap",
    "mean_abs_shap",
    "pdp",
    "permutation",
)


def tile_customers(customers: pd.DataFrame, count: int) -> pd.DataFrame:
    """`count` rows: the customers repeated, each copy with new unique IDs, sorted by ID."""
    rows, ids = tiled_rows(pa.array(customers[layout.ID_COLUMN].to_numpy()), count)
    tiled = customers.iloc[rows].reset_index(drop=True)
    tiled[layout.ID_COLUMN] = ids.to_numpy(zero_copy_only=False)
    return tiled


def slot_names(encoding: list[dict]) -> list[str]:
    """One readable column name per model input slot (explainerdashboard shows them): the feature for
    numeric slots, `feature_category` for one-hot slots."""
    names = [e["feature"] if e["kind"] == "numeric" else f"{e['feature']}_{e['category']}" for e in encoding]
    if len(set(names)) != len(names):
        raise ValueError("slot names collide")
    return names


def write_inputs(bundle: Bundle, count: int, folder: Path) -> Path:
    """Both sides' inputs: raw tiled customers as Parquet (ours) and their encoded slots as `.npy`
    plus the booster (explainerdashboard's); returns the Parquet path."""
    customers = tile_customers(bundle.read_table(layout.CUSTOMERS).to_pandas(), count)
    raw = folder / "customers.parquet"
    customers.to_parquet(raw, index=False)
    encoding = bundle.manifest["encoding"]
    np.save(folder / "x.npy", encode_rows(customers, encoding), allow_pickle=False)
    np.save(folder / "y.npy", customers[layout.LABEL_COLUMN].to_numpy(dtype=np.int64), allow_pickle=False)
    ids = customers[layout.ID_COLUMN].to_numpy()
    np.save(
        folder / "ids.npy", ids.astype(str) if ids.dtype == object else ids, allow_pickle=False
    )  # no pickled objects
    (folder / "columns.json").write_text(json.dumps(slot_names(encoding)))
    _, files = portable_files(bundle, "xgboost")
    (folder / "model.ubj").write_bytes(files["model.ubj"])
    return raw


def descendants(parents: dict[int, int], root: int) -> set[int]:
    """`root` and every process below it, from a pid → parent pid map."""
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def _parents() -> dict[int, int]:
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # The command name may hold spaces and parentheses: the fields start after the last ')'.
                out[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return out


def _status_kb(pid: int, path: str, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def run_sampled(command: list[str], env: dict[str, str]) -> dict:
    """Run `command`, sampling its process tree; its output streams through (progress)."""
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, cwd=REPO)
    peak_rss = peak_pss = peak_jvm = 0
    most = tick = 0
    while child.poll() is None:
        tree = descendants(_parents(), child.pid)
        most = max(most, len(tree))
        rss = {p: _status_kb(p, "status", "VmRSS:") for p in tree}
        peak_rss = max(peak_rss, sum(rss.values()))
        peak_jvm = max(peak_jvm, sum(kb for p, kb in rss.items() if _comm(p) == "java"))
        if tick % PSS_EVERY == 0:
            peak_pss = max(peak_pss, sum(_status_kb(p, "smaps_rollup", "Pss:") for p in tree))
        tick += 1
        time.sleep(SAMPLE_S)
    return {
        "rc": child.returncode,
        "wall_s": time.perf_counter() - started,
        "peak_rss_mb": peak_rss / 1024,
        "peak_pss_mb": peak_pss / 1024,
        "peak_jvm_rss_mb": peak_jvm / 1024,
        "processes": most,
    }


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def wait_for_load(threshold: float, minutes: float) -> tuple[float, float]:
    """Poll every minute until the 1-minute load average is below `threshold` (at most `minutes`);
    returns (seconds waited, the load average when done waiting)."""
    started = time.monotonic()
    while (load := load_average()) >= threshold and time.monotonic() - started < minutes * 60:
        print(
            f"load average {load:.2f} ≥ {threshold}: waiting ({(time.monotonic() - started) / 60:.0f} min so far)",
            flush=True,
        )
        time.sleep(60)
    return time.monotonic() - started, load


def figures(label: str, ed: dict, ours: dict, ed_tree: dict, ours_tree: dict) -> dict[str, float | int]:
    """Flat keys for one size. Speed-ups are explainerdashboard's seconds over ours (> 1: we are
    faster); `ed_speedup_<n>` compares each side end to end (imports and Spark start-up included),
    `ed_speedup_stages_<n>` the computing alone. `ed_rss_ratio_<n>` is our process tree's peak RSS
    over explainerdashboard's peak for the same outputs (< 1: we use less)."""
    ed_s, ed_compute = ed["total_s"], sum(ed["seconds"][p] for p in ED_COMPUTE)
    ours_s = ours["total_s"]
    ours_stages = ours_s - ours["seconds"]["imports"] - ours["seconds"]["spark_start"]
    out: dict[str, float | int] = {
        f"ed_speedup_{label}": round(ed_s / ours_s, 2),
        f"ed_speedup_stages_{label}": round(ed_compute / ours_stages, 2),
        f"ed_rss_ratio_{label}": round(ours_tree["peak_rss_mb"] / ed["peak_rss_mb"], 2),
        f"ed_s_{label}": round(ed_s, 1),
        f"ed_compute_s_{label}": round(ed_compute, 1),
        f"ours_s_{label}": round(ours_s, 1),
        f"ours_stages_s_{label}": round(ours_stages, 1),
        f"ed_rss_mb_{label}": round(ed["peak_rss_mb"], 1),
        f"ed_tree_rss_mb_{label}": round(ed_tree["peak_rss_mb"], 1),
        f"ours_rss_mb_{label}": round(ours_tree["peak_rss_mb"], 1),
        f"ours_pss_mb_{label}": round(ours_tree["peak_pss_mb"], 1),
        f"ours_jvm_rss_mb_{label}": round(ours_tree["peak_jvm_rss_mb"], 1),
        f"ours_processes_{label}": ours_tree["processes"],
        f"ed_columns_{label}": ed["columns"],
    }
    if "dashboard_peak_rss_mb" in ed:
        out[f"ed_dashboard_rss_mb_{label}"] = round(ed["dashboard_peak_rss_mb"], 1)
    out.update({f"ed_{p}_s_{label}": round(ed["seconds"][p], 2) for p in ED_PARTS if p in ed["seconds"]})
    out.update({f"ours_{p}_s_{label}": round(ours["seconds"][p], 2) for p in OURS_PARTS if p in ours["seconds"]})
    return out


def compare(bundle: Bundle, count: int, dashboard: bool) -> dict[str, float | int]:
    label = size_label(count)
    with tempfile.TemporaryDirectory(prefix=f"ed-bench-{label}-") as tmp:
        folder = Path(tmp)
        print(f"\n{count:,} customers: writing inputs …", flush=True)
        raw = write_inputs(bundle, count, folder)
        env = {
            **os.environ,
            "SPARK_LOCAL_IP": "127.0.0.1",
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        load_before = load_average()
        print(f"ours (Spark local[2]) …  load average {load_before:.2f}", flush=True)
        ours_tree = run_sampled(
            [
                sys.executable,
                "-m",
                "bench.ed_ours",
                "--bundle",
                str(bundle.path),
                "--customers",
                str(raw),
                "--out",
                str(folder / "ours.json"),
            ],
            env,
        )
        if ours_tree["rc"] != 0:
            raise RuntimeError(f"our side failed (exit {ours_tree['rc']})")
        print(f"explainerdashboard (defaults) …  load average {load_average():.2f}", flush=True)
        ed_command = [
            str(ED_PYTHON),
            str(REPO / "bench" / "ed_side.py"),
            "--inputs",
            str(folder),
            "--model",
            str(folder / "model.ubj"),
            "--out",
            str(folder / "ed.json"),
        ]
        ed_tree = run_sampled(ed_command + (["--dashboard"] if dashboard else []), env)
        if ed_tree["rc"] != 0:
            raise RuntimeError(f"explainerdashboard side failed (exit {ed_tree['rc']})")
        ed = json.loads((folder / "ed.json").read_text())
        ours = json.loads((folder / "ours.json").read_text())
    if ed_tree["processes"] > 1:
        print(f"note: explainerdashboard ran {ed_tree['processes']} processes; its VmHWM is one of them", flush=True)
    out = figures(label, ed, ours, ed_tree, ours_tree)
    out[f"ed_loadavg_{label}"] = load_before
    out[f"ed_loadavg_end_{label}"] = load_average()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.vs_explainerdashboard",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--bundle", type=Path, default=Path("artifacts/telco"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--quick", action="store_true", help="2,000 customers, no waiting, nothing recorded")
    parser.add_argument("--no-dashboard", action="store_true", help="skip building ExplainerDashboard(explainer)")
    parser.add_argument("--max-load", type=float, default=2.5)
    parser.add_argument("--wait-minutes", type=float, default=40.0)
    args = parser.parse_args(argv)
    if not ED_PYTHON.exists():
        print(f"{ED_PYTHON} is missing: run `make bench-ed` (it builds the bench-only venv).", file=sys.stderr)
        return 1
    try:
        bundle = open_bundle(args.bundle)
    except BundleError as exc:
        print(f"{exc} Train it first (python -m training run --dataset telco).", file=sys.stderr)
        return 1
    sizes = [2_000] if args.quick else args.sizes
    found: dict[str, float | int | str] = {}
    if not args.quick:
        waited, load = wait_for_load(args.max_load, args.wait_minutes)
        print(f"load average {load:.2f} after waiting {waited / 60:.0f} min", flush=True)
        found.update(ed_loadavg_start=load, ed_load_wait_s=round(waited))
    for count in sizes:
        found.update(compare(bundle, count, dashboard=not args.no_dashboard))
    found["ed_bundle_run"] = bundle.run_id
    if args.quick:
        for key, value in found.items():
            print(f"  {key:40} {value}")
    else:
        report.record_and_print(found)
    return 0


if __name__ == "__main__":
    sys.exit(main())

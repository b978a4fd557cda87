"""`make bench-scale` (training half): train, explain and publish the synthetic dataset at scale
through spark-submit, and record wall time and peak memory, in total and per stage.

    python -m bench.scale_training [--customers 1000000] [--events-per-customer 20] [--master local[2]]
                                   [--driver-memory 4g] [--tuning off] [--artifacts DIR]

Keys (`<n>` = `1m`, `100k`, … from --customers), flat in test-output/bench.json:
`scale_train_<n>_s` (spark-submit start to exit: JVM start-up, training, publish),
`scale_train_<n>_stages_s` (sum of the manifest's stage timings; publish is not in them as the
manifest is written inside it), `scale_train_<n>_driver_peak_mb` (the largest per-stage peak
RSS of the driver's Python process), `scale_train_<n>_jvm_heap_peak_mb` (the largest per-stage
peak heap use of the driver JVM, which in local mode runs the executors too),
`scale_train_<n>_max_rss_mb` (largest resident set of any process of the run that has exited:
the JVM or a Python process, from `getrusage(RUSAGE_CHILDREN)`), and per stage
`scale_train_<n>_<stage>_s`, `..._<stage>_peak_mb`, `..._<stage>_jvm_heap_mb`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def size_label(customers: int) -> str:
    if customers % 1_000_000 == 0:
        return f"{customers // 1_000_000}m"
    if customers % 1_000 == 0:
        return f"{customers // 1_000}k"
    return str(customers)


def _slug(stage: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", stage.lower()).strip("_")


def figures(manifest: dict, wall_s: float, max_rss_mb: float, customers: int) -> dict:
    """Flat bench keys from one run's manifest (`timings`, `memory`) and the measured wall time."""
    prefix = f"scale_train_{size_label(customers)}"
    timings, memory = manifest.get("timings", {}), manifest.get("memory", {})
    out: dict[str, float | int | str] = {
        f"{prefix}_s": round(wall_s, 1),
        f"{prefix}_stages_s": round(sum(timings.values()), 1),
        f"{prefix}_max_rss_mb": round(max_rss_mb, 1),
        f"{prefix}_customers": manifest["dataset"]["rows"],
        f"{prefix}_master": manifest.get("spark", {}).get("master", ""),
    }
    peaks = [m["driver_python_peak_mb"] for m in memory.values() if "driver_python_peak_mb" in m]
    heaps = [m["driver_jvm_heap_peak_mb"] for m in memory.values() if "driver_jvm_heap_peak_mb" in m]
    if peaks:
        out[f"{prefix}_driver_peak_mb"] = max(peaks)
    if heaps:
        out[f"{prefix}_jvm_heap_peak_mb"] = max(heaps)
    for stage, seconds in timings.items():
        out[f"{prefix}_{_slug(stage)}_s"] = seconds
        stage_memory = memory.get(stage, {})
        if "driver_python_peak_mb" in stage_memory:
            out[f"{prefix}_{_slug(stage)}_peak_mb"] = stage_memory["driver_python_peak_mb"]
        if "driver_jvm_heap_peak_mb" in stage_memory:
            out[f"{prefix}_{_slug(stage)}_jvm_heap_mb"] = stage_memory["driver_jvm_heap_peak_mb"]
    return out


def run(customers: int, events: int, master: str, driver_memory: str | None, tuning: str, artifacts: Path) -> dict:
    venv_bin = Path(sys.executable).parent
    env = {
        **os.environ,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }
    command = [str(venv_bin / "spark-submit"), "--master", master]
    if driver_memory:
        command += ["--driver-memory", driver_memory]
    command += [
        "training/__main__.py",
        "run",
        "--dataset",
        "synthetic",
        "--customers",
        str(customers),
        "--events-per-customer",
        str(events),
        "--tuning",
        tuning,
        "--artifacts",
        str(artifacts),
        "--bundle",
        f"scale-{size_label(customers)}",
    ]
    print("$", " ".join(command), flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"training at {customers} customers failed (exit {done.returncode})")
    max_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    manifest = json.loads((artifacts / f"scale-{size_label(customers)}" / "manifest.json").read_text())
    return figures(manifest, wall, max_rss_mb, customers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale_training", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--events-per-customer", type=int, default=20)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default=None, help="spark-submit --driver-memory (default: Spark's, 1g)")
    parser.add_argument("--tuning", default="off", choices=("off", "quick", "full"))
    parser.add_argument(
        "--artifacts", type=Path, default=None, help="where the bundle goes (default: a temporary folder, removed)"
    )
    args = parser.parse_args(argv)
    from bench.report import record_and_print

    with tempfile.TemporaryDirectory(prefix="churnlens-scale-") as scratch:
        artifacts = args.artifacts or Path(scratch)
        found = run(args.customers, args.events_per_customer, args.master, args.driver_memory, args.tuning, artifacts)
    found[f"scale_train_{size_label(args.customers)}_driver_memory"] = args.driver_memory or "1g (Spark default)"
    record_and_print(found)
    return 0


if __name__ == "__main__":
    sys.exit(main())

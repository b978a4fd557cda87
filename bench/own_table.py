"""`make bench-train`: what a user waits for with a table of their own, and for `make train`.

    python -m bench.own_table [--rows 10000] [--skip-make-train] [--keep DIR]

Keys (flat, in test-output/bench.json; `<n>` = `10k` for --rows 10000):
- `init_config_s_<n>`: `python -m training init-config` on a generated CSV of that many customers,
  process start to exit (target at 10k: ≤ 5 s; no JVM: the file is sampled with pyarrow);
- `own_csv_to_bundle_s_<n>`: that init-config plus `python -m training run --config` with the four
  model families and quick tuning, to a published bundle (target at 10k: ≤ 60 s);
- `make_train_s`: `python -m training ensure` into an empty folder, i.e. `make train` from nothing:
  both built-in bundles, Telco and MovieLens (target ≤ 180 s).
Each command is a fresh process (JVM start included), as a user runs it. They take minutes, so they
are a make target of their own rather than part of `make bench`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
FOUR_MODELS = 'use = ["logistic", "gbt", "xgboost", "sklearn"]'
TARGETS_S = {"init_config": 5.0, "own_csv_to_bundle": 60.0, "make_train": 180.0}


def size_label(rows: int) -> str:
    return f"{rows // 1000}k" if rows % 1000 == 0 else str(rows)


def generate_csv(path: Path, rows: int, seed: int = 7) -> Path:
    """A churn table as users export them: text IDs, Yes/No label, numbers with blanks, a date,
    an e-mail column (ID-like), a few categoricals; churn depends on tenure, contract and charges."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 72, rows)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], rows, p=[0.55, 0.25, 0.2])
    charges = rng.uniform(18, 120, rows).round(2)
    logit = -1.0 - 0.04 * tenure + 0.02 * (charges - 65) + 1.3 * (contract == "Month-to-month")
    churn = np.where(rng.uniform(size=rows) < 1 / (1 + np.exp(-logit)), "Yes", "No")
    total = (charges * np.maximum(tenure, 1)).round(2).astype(str).astype(object)
    total[tenure == 0] = ""  # new customers: no total yet (a blank, as in Telco's export)
    frame = pd.DataFrame(
        {
            "customer_id": [f"CUST-{i:06d}" for i in range(rows)],
            "Churn": churn,
            "tenure": tenure,
            "contract": contract,
            "monthly_charges": charges,
            "total_charges": total,
            "paperless": rng.choice(["Y", "N"], rows),
            "region": rng.choice([f"region-{i}" for i in range(12)], rows),
            "support_calls": rng.poisson(1.5, rows),
            "signup_month": [f"20{20 + int(m) // 12}-{int(m) % 12 + 1:02d}" for m in rng.integers(0, 48, rows)],
            "email": [f"customer{i}@example.com" for i in range(rows)],
        }
    )
    frame.to_csv(path, index=False)
    return path


def _env() -> dict[str, str]:
    python = sys.executable
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
        "PYSPARK_PYTHON": python,
        "PYSPARK_DRIVER_PYTHON": python,
    }


def timed(arguments: list[str], cwd: Path) -> float:
    """Seconds `python -m training <arguments>` takes, start to exit; a failure stops the bench."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "training", *arguments], cwd=cwd, env=_env())
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"python -m training {' '.join(arguments)} failed (exit {done.returncode})")
    return seconds


def use_four_models(config: Path) -> None:
    """The starter config's model list replaced by all four families."""
    text = config.read_text(encoding="utf-8")
    lines = [FOUR_MODELS if line.startswith("use = [") else line for line in text.splitlines()]
    if FOUR_MODELS not in lines:
        raise SystemExit(f"{config}: no `use = [...]` line to replace")
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")


def own_table(rows: int, folder: Path, train: bool = True) -> dict[str, float]:
    """`init_config_s_<n>` and (with `train`) `own_csv_to_bundle_s_<n>` for a generated table."""
    label = size_label(rows)
    csv = generate_csv(folder / f"customers-{label}.csv", rows)
    config = folder / f"customers-{label}.toml"
    init_s = timed(["init-config", str(config), "--customers", str(csv), "--force"], folder)
    found = {f"init_config_s_{label}": round(init_s, 2)}
    if train:
        use_four_models(config)
        arguments = ["run", "--config", str(config), "--tuning", "quick", "--artifacts", str(folder / "artifacts")]
        found[f"own_csv_to_bundle_s_{label}"] = round(init_s + timed(arguments, folder), 1)
    return found


def make_train(folder: Path) -> dict[str, float]:
    """`make_train_s`: both built-in bundles trained into an empty folder."""
    return {"make_train_s": round(timed(["ensure", "--artifacts", str(folder / "built-in")], folder), 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.own_table", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000, help="customers in the generated CSV (default 10000)")
    parser.add_argument("--skip-make-train", action="store_true", help="skip `make_train_s` (~3-5 minutes)")
    parser.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it (default: temporary)")
    args = parser.parse_args(argv)
    from bench.report import record_and_print

    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="churnlens-own-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        found: dict[str, float | str] = {**own_table(args.rows, folder)}
        if not args.skip_make_train:
            found.update(make_train(folder))
    found["own_table_load_average_1m"] = round(load, 2)  # at the start: these figures want an idle machine
    record_and_print(found)
    return 0


if __name__ == "__main__":
    sys.exit(main())

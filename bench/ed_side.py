"""explainerdashboard's side of `bench.vs_explainerdashboard`; runs in the bench-only `.venv-ed`.

    .venv-ed/bin/python bench/ed_side.py --inputs DIR --model MODEL.ubj --out RESULT.json [--dashboard]

Imports only explainerdashboard, xgboost, NumPy and pandas (the bench venv has no pyarrow, and
nothing of this project is imported). The inputs are NumPy `.npy` files written by the parent
(`x.npy`: encoded one-hot slots, `y.npy`: labels, `ids.npy`: customer IDs) plus `columns.json`;
they are read with `allow_pickle=False`.

Everything runs with explainerdashboard 0.5.8's defaults: `ClassifierExplainer(model, X, y)`
(model_output="probability", so shap's interventional TreeSHAP against X, which shap's
Independent masker subsamples to 100 rows; roc_auc permutation importances with one repeat per
column, computed for both labels; no `cats`, so every one-hot slot is its own feature), then
`pdp_df(col)` with its defaults (500 sampled rows, 10 grid points) for every column. With
`--dashboard`, `ExplainerDashboard(explainer)` is built afterwards (what it precomputes on top:
predictions, metrics, curves, the decision-tree views), timed and measured separately.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()  # before the heavy imports: they are part of what a user waits for

import argparse  # noqa: E402
import json  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import xgboost  # noqa: E402
from explainerdashboard import ClassifierExplainer, ExplainerDashboard  # noqa: E402

IMPORTED = time.perf_counter()


def peak_rss_mb() -> float:
    """This process's peak resident set so far (VmHWM); explainerdashboard starts no child processes
    with its defaults (joblib with n_jobs=None runs in-process)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--inputs", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--dashboard", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # its defaults warn on every call; the warnings are noted in the README
    seconds: dict[str, float] = {"imports": IMPORTED - STARTED}

    def timed(part: str, work):
        started = time.perf_counter()
        result = work()
        seconds[part] = time.perf_counter() - started
        print(f"  ed: {part} {seconds[part]:.1f} s (peak RSS {peak_rss_mb():.0f} MB)", flush=True)
        return result

    def load():
        columns = json.loads((args.inputs / "columns.json").read_text())
        ids = pd.Index(np.load(args.inputs / "ids.npy", allow_pickle=False), name="customer_id")
        x = pd.DataFrame(np.load(args.inputs / "x.npy", allow_pickle=False), columns=columns, index=ids)
        y = pd.Series(np.load(args.inputs / "y.npy", allow_pickle=False), index=ids, name="label")
        model = xgboost.XGBClassifier()
        model.load_model(bytearray(args.model.read_bytes()))
        return x, y, model

    x, y, model = timed("load", load)
    explainer = timed("explainer", lambda: ClassifierExplainer(model, x, y))
    shap_values = timed("shap", explainer.get_shap_values_df)
    timed("mean_abs_shap", explainer.get_mean_abs_shap_df)
    timed("permutation", explainer.get_permutation_importances_df)
    timed("pdp", lambda: [explainer.pdp_df(col) for col in explainer.columns])
    result = {
        "rows": len(x),
        "columns": len(explainer.columns),
        "shap_shape": list(shap_values.shape),
        "model_output": explainer.model_output,
        "seconds": seconds,
        "total_s": time.perf_counter() - STARTED,
        "peak_rss_mb": peak_rss_mb(),
    }
    if args.dashboard:
        timed("dashboard", lambda: ExplainerDashboard(explainer))
        result["dashboard_peak_rss_mb"] = peak_rss_mb()
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

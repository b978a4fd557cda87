"""Hyperparameter search for every tuned family, on training rows only.

The test split never takes part: each search fits its grid points on the
training rows minus one hashed validation slice (`validation_mask_column`,
the same slice for every family), scores them on that slice (ROC AUC; XGBoost:
log loss of its early-stopped boosters, lower is better), and only then does
the final evaluation touch the test split. No family refits on all training
rows: every final model is fitted on training minus validation, so the slice
stays unseen for the calibration stage (`training/calibration.py`). Every grid
point's parameters, validation score and seconds are recorded in the manifest
(`models.<m>.tuning`, see artifacts/README.md).

Modes (`RunConfig.tuning`, CLI `--tuning`):
- "off":   the family's default parameters, no search;
- "quick": small grids, sized so full Telco trains in ~3 minutes on 2 cores;
- "full":  wider grids.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bundle import layout

MODES = ("off", "quick", "full")
METRIC = "roc_auc"
VALIDATION_FRACTION = 0.2
VALIDATION_COLUMN = "_is_validation"

# Grids per family and mode; parameters not named keep the family's defaults.
GRIDS: dict[str, dict[str, dict[str, list]]] = {
    "gbt": {
        "quick": {"maxDepth": [2, 3]},
        "full": {"maxDepth": [3, 4, 5, 6], "stepSize": [0.05, 0.1, 0.2], "maxIter": [60, 120]},
    },
    "xgboost": {
        "quick": {"max_depth": [3, 5]},
        "full": {"max_depth": [2, 3, 4, 6], "learning_rate": [0.03, 0.1], "min_child_weight": [1.0, 5.0]},
    },
    "sklearn": {
        "quick": {"max_leaf_nodes": [7, 15], "learning_rate": [0.05, 0.1]},
        "full": {"max_leaf_nodes": [7, 15, 31], "learning_rate": [0.03, 0.05, 0.1], "l2_regularization": [0.0, 1.0]},
    },
}


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"tuning must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


def grid_points(family: str, mode: str, fixed: dict | None = None) -> list[dict]:
    """Every combination of the family's grid for `mode`; parameters in `fixed` are not searched."""
    grid = {k: v for k, v in GRIDS.get(family, {}).get(check_mode(mode), {}).items() if k not in (fixed or {})}
    if not grid:
        return [{}]
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(grid[k] for k in keys))]


def validation_mask_column(seed: int):
    """True for the ~20% of training customers held out for validation: a hash of
    (seed, customer_id), so the choice is the same on any cluster layout."""
    bucket = F.abs(F.xxhash64(F.lit(seed + 7919), F.col(layout.ID_COLUMN))) % 1000
    return bucket < int(VALIDATION_FRACTION * 1000)


VALIDATION_RULE = (
    f"{VALIDATION_FRACTION:.0%} of the training customers, chosen by xxhash64(seed + 7919, customer_id); "
    "the test split is not used"
)


def with_validation_column(train: DataFrame, seed: int) -> DataFrame:
    return train.withColumn(VALIDATION_COLUMN, validation_mask_column(seed))


def fit_rows(train: DataFrame, seed: int) -> DataFrame:
    """The rows every final model is fitted on: the training split minus the validation slice."""
    return train.where(~validation_mask_column(seed))


def validation_rows(train: DataFrame, seed: int) -> DataFrame:
    """The validation slice of the training split (tuning scores and the calibration fit)."""
    return train.where(validation_mask_column(seed))


# Grid points: (params, validation score, seconds to fit and score the point).
Point = tuple[dict, float, float]


def fit_threads(points: int, cores: int) -> int:
    """How many grid points to fit at once: one per core, at most one per point. Spark ML fits
    of small tables spend most of their time in per-job latency on the driver, so two fits
    submitted from two threads overlap where one leaves the cores idle."""
    return max(1, min(points, cores))


def fit_grid[M](
    points: list[dict], fit: Callable[[dict], tuple[float, M]], threads: int
) -> tuple[list[Point], list[M]]:
    """Every point's (score, model) from `fit`, `threads` at a time, returned in grid order:
    each fit depends only on its own parameters, rows and seed, so running them side by side
    changes their seconds but not their scores, and `best_index` picks the same point."""

    def timed(point: dict) -> tuple[Point, M]:
        started = time.perf_counter()
        score, model = fit(point)
        return (point, score, time.perf_counter() - started), model

    if threads <= 1 or len(points) <= 1:
        done = [timed(point) for point in points]
    else:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="grid") as pool:
            done = list(pool.map(timed, points))
    return [point for point, _ in done], [model for _, model in done]


def record(method: str, validation: str, grid: list[Point], best: dict, metric: str = METRIC) -> dict:
    """The manifest's `tuning` entry."""
    return {
        "method": method,
        "metric": metric,
        "validation": validation,
        "grid": [{"params": _plain(p), "score": float(s), "seconds": round(float(t), 3)} for p, s, t in grid],
        "best_params": _plain(best),
    }


def best_index(grid: list[Point], lower_is_better: bool = False) -> int:
    """Where the best grid point is: highest score, or lowest with `lower_is_better` (a loss);
    the first one on ties, so the choice is deterministic. Scores equal to 12 significant digits
    are ties: Spark's evaluator sums partition results in the order tasks finish, so the same
    model's ROC AUC can differ in the 16th digit between runs (seen with points fitted side by side).
    Callers keep each point's model in a list beside `grid` and take the model at this index."""
    scores = np.array([float(f"{s:.12g}") for _, s, _ in grid])
    return int(np.argmin(scores) if lower_is_better else np.argmax(scores))


def _plain(params: dict) -> dict:
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in params.items()}

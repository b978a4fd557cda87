"""The open-time tamper check: a sample of stored scores recomputed through the runtime.

Checksums prove that files are what the manifest lists, not that nobody rewrote both. A
publish runs every model over up to 50,000 customers (`checks.runtime_parity`); opening a
bundle repeats that for `SAMPLE_ROWS` customers spread over the table, every model, and
refuses the bundle when a stored probability or margin differs from what the model file
computes from the stored features (beyond `layout.RUNTIME_PARITY_TOLERANCE`). Rows shifted
against their IDs, a model file swapped for another, or features removed from the manifest
(the model's input width no longer matches: `runtime.model.check_width`) all show here.

Only the row groups holding sampled rows are read, from at most `SAMPLE_GROUPS` groups, so
the check costs about the same on a million customers as on a thousand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bundle import layout
from bundle.errors import BundleError
from bundle.files import Bundle, unreadable
from bundle.manifest import feature_names

if TYPE_CHECKING:
    from runtime import ModelRuntime

RuntimeSource = Callable[[Bundle, str], "ModelRuntime"]
SAMPLE_ROWS = 300
SAMPLE_GROUPS = 6


def _group_starts(meta: pq.FileMetaData) -> np.ndarray:
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def sample_positions(group_starts: np.ndarray, rows: int = SAMPLE_ROWS, groups: int = SAMPLE_GROUPS) -> np.ndarray:
    """Row positions to check: evenly spaced rows inside up to `groups` evenly spaced row groups
    (first and last included), `rows` in all (pure)."""
    count = len(group_starts) - 1
    if count < 1 or group_starts[-1] == 0:
        return np.zeros(0, dtype=np.int64)
    chosen = np.unique(np.linspace(0, count - 1, min(groups, count)).round().astype(np.int64))
    per_group = max(1, rows // len(chosen))
    picked = [
        np.linspace(group_starts[g], group_starts[g + 1] - 1, min(per_group, group_starts[g + 1] - group_starts[g]))
        for g in chosen
        if group_starts[g + 1] > group_starts[g]
    ]
    return np.unique(np.concatenate(picked).round().astype(np.int64)) if picked else np.zeros(0, dtype=np.int64)


def rows_at(bundle: Bundle, relpath: str, columns: list[str], positions: np.ndarray) -> pa.Table:
    """The rows at sorted `positions` of one table, reading only the row groups that hold them."""
    path = bundle.file(relpath)
    try:
        parquet = pq.ParquetFile(path)
        starts = _group_starts(parquet.metadata)
        groups = np.unique(np.searchsorted(starts, positions, side="right") - 1)
        parts = []
        for group in groups:
            inside = positions[(positions >= starts[group]) & (positions < starts[group + 1])] - starts[group]
            parts.append(parquet.read_row_group(int(group), columns=columns).take(pa.array(inside)))
    except (OSError, pa.ArrowException) as exc:
        raise unreadable(bundle.name, bundle.path, relpath, exc) from exc
    return pa.concat_tables(parts) if parts else pa.table({c: [] for c in columns})


def _worst(model: str, ids: list[Any], stored: np.ndarray, computed: np.ndarray, what: str) -> str | None:
    gap = np.abs(stored - computed)
    gap = np.where(np.isnan(gap), np.inf, gap)
    if gap.size == 0 or float(gap.max()) <= layout.RUNTIME_PARITY_TOLERANCE:
        return None
    i = int(np.argmax(gap))
    shown = (lambda v: f"{v:.1%}") if what == "probability" else (lambda v: f"{v:.4f} log-odds")
    return (
        f"model '{model}': its stored {what} of customer {str(ids[i])[:40]} is {shown(stored[i])} but the model "
        f"computes {shown(computed[i])} from the stored features (the scores were changed after publishing)"
    )


def score_sample_problems(bundle: Bundle, runtime_of: RuntimeSource | None = None) -> list[str]:
    """Every model's stored probability and margin against the runtime, on a sample of customers.

    `runtime_of(bundle, model)` gives each model's runtime (default `bundle.models.load_runtime`;
    the dashboard passes its cached loader, so the check and the pages share one load)."""
    from bundle.models import load_runtime  # needs the model libraries; only this check pays for them

    runtime_of = runtime_of or load_runtime
    names = feature_names(bundle.manifest)
    try:
        starts = _group_starts(pq.ParquetFile(bundle.file(layout.CUSTOMERS)).metadata)
    except (OSError, pa.ArrowException) as exc:
        raise unreadable(bundle.name, bundle.path, layout.CUSTOMERS, exc) from exc
    positions = sample_positions(starts)
    customers = rows_at(bundle, layout.CUSTOMERS, [layout.ID_COLUMN, *names], positions)
    ids = customers.column(layout.ID_COLUMN).to_pylist()
    rows = customers.select(names).to_pandas()
    problems = []
    for model in bundle.manifest["models"]:
        try:
            runtime = runtime_of(bundle, model)
        except BundleError as exc:
            problems.append(f"model '{model}' cannot run: {exc.__cause__}" if exc.__cause__ else str(exc))
            continue
        stored = rows_at(
            bundle, layout.predictions_path(model), [layout.PROBABILITY_COLUMN, layout.MARGIN_COLUMN], positions
        )
        margin = runtime.margin(rows)
        for what, column, computed in (
            ("probability", layout.PROBABILITY_COLUMN, runtime.probability_of(margin)),
            ("margin", layout.MARGIN_COLUMN, margin),
        ):
            problem = _worst(model, ids, stored.column(column).to_numpy(zero_copy_only=False), computed, what)
            if problem:
                problems.append(problem)
                break
    return problems

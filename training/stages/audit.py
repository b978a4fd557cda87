"""Stage "audit": group metrics with bootstrap intervals and error analysis, for every model.

Spark counts every customer per dimension and group (`training.audit`) and collects the test split's
rows (all of them up to `layout.AUDIT_ROW_CAP`, a fixed sample beyond). On the driver, each model's
stored probabilities for those rows get the threshold-free metrics of `analytics.groups` per group
with 95 % intervals from `groups.RESAMPLES` resamples (seeded: the Validation page regenerates the
same resamples for the threshold-dependent metrics), and `training.error_analysis` fits the error trees.
Driver memory: the sampled rows (≤ 20,000 × features) and a (resamples + 1) × rows matrix of counts
(32 MB at the cap).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analytics import groups
from bundle import layout
from training import audit, error_analysis, publish
from training.datasets import DatasetSpec
from training.explain import probability_column
from training.models import FittedModel
from training.stages.prepare import Prepared

log = logging.getLogger("training")


@dataclass
class AuditStage:
    manifest: dict  # the manifest's `audit` entry
    tables: dict[str, pd.DataFrame]


def _probabilities(scored: list[Path], ids: pd.Series, fitted: list[FittedModel]) -> dict[str, np.ndarray]:
    """Each model's stored probability for the customers `ids` (the scored parts are sorted by ID)."""
    every = publish.read_columns(scored, [layout.ID_COLUMN]).column(0).to_pandas()
    positions = pd.Index(every).get_indexer(ids)
    order = np.argsort(positions, kind="stable")
    picked = publish.take_rows(scored, positions[order], [probability_column(m.name) for m in fitted])
    out = {}
    for model in fitted:
        values = np.empty(len(ids))
        values[order] = picked.column(probability_column(model.name)).to_numpy()
        out[model.name] = values
    return out


def _fixed_table(rows: pd.DataFrame, dims: list[audit.Dimension], model: str, counts: np.ndarray) -> pd.DataFrame:
    labels = rows[layout.LABEL_COLUMN].to_numpy()
    probability = rows[layout.probability_column_of(model)].to_numpy()
    frames = []
    for d in dims:
        codes = groups.codes_of(rows[layout.group_column(d.name)].to_numpy(), d.groups)
        metrics = groups.fixed_metrics(counts, codes, len(d.groups), labels, probability)
        frame = groups.long_frame({k: metrics[k] for k in groups.FIXED_METRICS}, d.groups)
        sizes = [pd.DataFrame({"group": d.groups, "metric": k, "value": metrics[k][0]}) for k in ("rows", "positives")]
        frames.append(pd.concat([*sizes, frame], ignore_index=True).assign(model=model, dimension=d.name))
    return pd.concat(frames, ignore_index=True)


def _error_tables(
    rows: pd.DataFrame, spec: DatasetSpec, models: list[str], thresholds: dict[str, float], slots: list[dict],
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    # What the cohort grammar needs of each feature: its name, type and categories (the encoder's).
    features = [
        {
            "name": f.name,
            "type": f.type,
            "categories": [s["category"] for s in slots if s["feature"] == f.name and s["kind"] == "onehot"],
        }
        for f in spec.features
    ]
    raw, labels = rows[spec.feature_names], rows[layout.LABEL_COLUMN].to_numpy()
    trees, cohorts = [], []
    for model in models:
        probability = rows[layout.probability_column_of(model)].to_numpy()
        found = error_analysis.analyse(raw, labels, probability, thresholds[model], slots, features, seed)
        for target, (tree, ranked) in found.items():
            trees.append(tree.assign(model=model, target=target))
            cohorts.append(ranked.assign(model=model, target=target))
    return pd.concat(trees, ignore_index=True), pd.concat(cohorts, ignore_index=True)


def audit_models(
    prepared: Prepared, spec: DatasetSpec, fitted: list[FittedModel], scored: list[Path], thresholds: dict[str, float],
    seed: int,
) -> AuditStage:  # fmt: skip
    dims = audit.dimensions(prepared.table, spec)
    counted = audit.count_groups(prepared.table, spec, dims)
    rows = audit.test_rows(prepared.table, spec, dims, seed, layout.AUDIT_ROW_CAP)
    for model, values in _probabilities(scored, rows[layout.ID_COLUMN], fitted).items():
        rows[layout.probability_column_of(model)] = values
    stage = audit_tables(rows, counted, dims, spec, thresholds, prepared.slots, seed)
    stage.manifest["test_rows"] = prepared.split.test_rows
    return stage


def audit_tables(
    rows: pd.DataFrame, counted: pd.DataFrame, dims: list[audit.Dimension], spec: DatasetSpec,
    thresholds: dict[str, float], slots: list[dict], seed: int,
) -> AuditStage:  # fmt: skip
    """The audit entry and tables from the collected rows (each model's probability in
    `layout.probability_column_of(model)`) and the Spark group counts; `thresholds` names the models."""
    models = list(thresholds)
    counts = groups.bootstrap_counts(len(rows), groups.RESAMPLES, seed)
    metrics = pd.concat([_fixed_table(rows, dims, m, counts) for m in models], ignore_index=True)
    tree, cohorts = _error_tables(rows, spec, models, thresholds, slots, seed)
    log.info("audit: %d dimensions, %d test rows, %d error cohorts", len(dims), len(rows), len(cohorts))
    features = set(spec.feature_names)
    labels = {f.name: f.label for f in spec.features}
    entry = {
        "measured": True,
        "note": f"{len(dims)} dimensions on {len(rows):,} test customers, {groups.RESAMPLES} bootstrap resamples",
        "columns": [{"name": c, "label": labels.get(c, c), "feature": c in features} for c in spec.audit],
        "dimensions": [d.entry() for d in dims],
        "rows": len(rows),
        "test_rows": len(rows),
        "row_cap": layout.AUDIT_ROW_CAP,
        "bootstrap": {"resamples": groups.RESAMPLES, "seed": seed, "confidence": groups.CONFIDENCE},
        "small_group": {
            "min_rows": groups.MIN_ROWS,
            "min_class": groups.MIN_CLASS,
            "max_auc_width": groups.MAX_AUC_WIDTH,
        },  # fmt: skip
        "error_analysis": {
            "max_depth": error_analysis.MAX_DEPTH,
            "min_leaf": error_analysis.min_leaf(len(rows)),
            "seed": seed,
        },  # fmt: skip
    }
    tables = {
        layout.AUDIT_ROWS: rows,
        layout.AUDIT_GROUPS: counted,
        layout.AUDIT_METRICS: metrics[list(layout.AUDIT_COLUMNS[layout.AUDIT_METRICS])],
        layout.ERROR_TREE: tree[list(layout.AUDIT_COLUMNS[layout.ERROR_TREE])],
        layout.ERROR_COHORTS: cohorts[list(layout.AUDIT_COLUMNS[layout.ERROR_COHORTS])],
    }
    return AuditStage(entry, tables)

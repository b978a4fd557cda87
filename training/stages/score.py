"""Stage "score + SHAP": every customer's probability, margin and SHAP values from `runtime`,
written sorted by ID, then checked against Spark's reference on the rows written."""

from __future__ import annotations

import logging
from pathlib import Path

from bundle import layout
from training import explain, publish
from training.datasets import DatasetSpec
from training.models import FittedModel
from training.stages.prepare import Prepared

log = logging.getLogger("training")


def score(prepared: Prepared, spec: DatasetSpec, fitted: list[FittedModel], scratch: Path) -> tuple[list[Path], dict]:
    """(the sorted part files, {model: its manifest `parity` entry})."""
    # Sorted before scoring (mapInArrow keeps row order), so the SHAP pass runs once and the part
    # files come in ID order; beyond `explain.DRIVER_ROWS` nothing per customer reaches the driver.
    keep = [layout.ID_COLUMN, layout.LABEL_COLUMN, layout.SPLIT_COLUMN, *spec.feature_names]
    rows = prepared.split.train_rows + prepared.split.test_rows
    target = scratch / publish.SCORED_DIR
    scored = explain.write_explained(prepared.encoded, fitted, prepared.slots, spec.feature_names, keep, target, rows)
    parity = explain.parity(prepared.encoded.sparkSession, scored or scratch / publish.SCORED_DIR, fitted)
    log.info("scored and explained every customer with %d models into %d sorted part files", len(fitted), len(scored))
    return scored, parity

"""One training run, stage by stage: ingest → validate → split → features →
models (+ tuning; fitted on training minus the validation slice) → calibrate (Platt
on the validation slice) → score + SHAP (+ parity) → evaluate (+ calibration, score
distributions, champion rule) → audit (group metrics, error analysis) → partial dependence
+ ICE → permutation importance → item vectors (datasets with events) → publish. Each stage
lives in `training/stages/`, logs what it did and how long it took; the timings go into the
manifest."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from bundle import layout
from bundle.reader import Bundle
from bundle.writer import check_bundle_name, scratch_dir
from training import items, tuning
from training.datasets import DatasetSpec
from training.history import check_new_label, keep_training_snapshot
from training.models import families
from training.stages.assess import CHAMPION_METRIC, evaluate_models, explain_globally
from training.stages.audit import audit_models
from training.stages.calibrate import calibrate_models
from training.stages.fit import fit_models
from training.stages.prepare import fingerprint, prepare
from training.stages.release import manifest, release
from training.stages.score import score
from training.stages.timings import Timings, previous_timings

__all__ = ["CHAMPION_METRIC", "RunConfig", "fingerprint", "run"]

log = logging.getLogger("training")


@dataclass(frozen=True)
class RunConfig:
    artifacts: Path = Path("artifacts")
    bundle_name: str | None = None  # defaults to the dataset's name
    sample: int | None = None  # train on a reproducible sample of this many customers
    seed: int = 42
    test_fraction: float = 0.2
    threshold: float = 0.5
    background_rows: int = 500
    models: tuple[str, ...] = tuple(families())
    model_params: dict[str, dict] = field(default_factory=dict)
    item_params: dict = field(default_factory=dict)  # training.items.Word2VecParams fields
    tuning: str = "quick"  # training.tuning.MODES: "off" | "quick" | "full"
    snapshot_label: str | None = None  # the training snapshot's label in the history; default trained-<run id>


def run(spark: SparkSession, spec: DatasetSpec, config: RunConfig, raw: DataFrame | None = None) -> Bundle:
    """Train, explain and publish one bundle; returns the published bundle."""
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    name = config.bundle_name or spec.name
    check_bundle_name(name)  # fail before training, not after
    tuning.check_mode(config.tuning)
    if config.snapshot_label is not None:
        check_new_label(config.artifacts, name, config.snapshot_label)  # fail before training, not after
    log.info("run %s: dataset %s → bundle %s", run_id, spec.name, name)
    # The live bundle's stage seconds give the progress lines their estimate of the time left.
    timings = Timings(spark, previous=previous_timings(config.artifacts / name))
    try:
        with scratch_dir(config.artifacts, name, run_id) as scratch:
            return _run(spark, spec, config, raw, timings, run_id, name, scratch)
    finally:
        timings.close()


def _run(
    spark: SparkSession,
    spec: DatasetSpec,
    config: RunConfig,
    raw: DataFrame | None,
    timings: Timings,
    run_id: str,
    name: str,
    scratch: Path,
) -> Bundle:
    prepared = prepare(spark, spec, raw, timings, config.sample, config.test_fraction, config.seed)
    fitted = fit_models(prepared.train, config.models, config.model_params, config.seed, config.tuning, timings)
    with timings.stage("calibrate"):
        calibrate_models(prepared.train, spec.feature_names, prepared.slots, fitted, config.seed)
    with timings.stage("score + SHAP"):
        scored, parity = score(prepared, spec, fitted, scratch)
    with timings.stage("evaluate"):
        assessment = evaluate_models(
            scored, fitted, prepared.slots, spec, config.threshold, config.background_rows, config.seed
        )
    with timings.stage("audit"):
        thresholds = {name: entry["threshold"] for name, entry in assessment.model_entries.items()}
        audited = audit_models(prepared, spec, fitted, scored, thresholds, config.seed)
        assessment.tables.update(audited.tables)
    explain_globally(prepared, spec, fitted, assessment, config.seed, timings)
    item_stage = None
    if spec.events is not None:
        with timings.stage("item vectors"):
            ids = prepared.table.select(layout.ID_COLUMN)
            item_stage = items.build(spark, spec.events, config.item_params, config.seed, ids, scratch)
    with timings.stage("publish"):
        entries = manifest(spark, spec, prepared, assessment, parity, timings, config.sample, item_stage)
        entries["audit"] = audited.manifest
        label = config.snapshot_label or f"trained-{run_id}"
        entries["history"] = {
            "generation": run_id,
            "training_snapshot": label,
            "note": "the training customers as this run scored them are the generation's first snapshot",
        }
        bundle = release(
            config.artifacts,
            name,
            run_id,
            entries,
            prepared,
            fitted,
            assessment,
            scored,
            spec.feature_names,
            item_stage,
            after_swap=lambda published: keep_training_snapshot(published, label),
        )
    log.info("published %s (run %s) in %.0f s", bundle.path, run_id, sum(timings.values()))
    prepared.unpersist()
    return bundle

"""One training run, stage by stage: ingest → validate → split → features →
models (+ tuning) → score + SHAP → evaluate (+ calibration, score distributions)
→ partial dependence + ICE → permutation importance → item vectors (datasets with
events) → publish. Each stage logs what it did and how long it took; the timings
go into the manifest."""

from __future__ import annotations

import logging
import platform
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from analytics import risk
from bundle import layout
from bundle.reader import Bundle
from bundle.writer import check_bundle_name, scratch_dir, stage_bundle
from runtime.core import build_kernel
from runtime.encoding import grouping_matrix
from training import (
    evaluate,
    explain,
    feature_types,
    features,
    hashing,
    importance,
    items,
    partial_dependence,
    publish,
    tuning,
)
from training.datasets import DatasetSpec
from training.explain import probability_column
from training.memory import StageMemory, jvm_heap_max_mb
from training.models import FittedModel, families
from training.split import assign_split
from training.validate import id_type, validate

log = logging.getLogger("training")

CHAMPION_METRIC = "roc_auc"


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


class _Timings(dict):
    """Seconds per stage; `memory` holds each stage's peak memory (training/memory.py)."""

    def __init__(self, spark: SparkSession | None = None) -> None:
        super().__init__()
        self.memory: dict[str, dict] = {}
        self._meter = StageMemory(spark)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        log.info("%s …", name)
        self._meter.start()
        started = time.perf_counter()
        yield
        self[name] = round(time.perf_counter() - started, 3)
        self.memory[name] = self._meter.peaks()
        log.info(
            "%s done in %.1f s (driver peak %.0f MB)", name, self[name], self.memory[name]["driver_python_peak_mb"]
        )


def fingerprint(table: DataFrame) -> str:
    """Order-independent digest of every value: row count + sum of row hashes mod 2^64."""
    row = table.agg(
        F.count(F.lit(1)).alias("n"), F.sum(F.xxhash64(*table.columns).cast("decimal(38,0)")).alias("h")
    ).first()
    return f"rows={row['n']};xxhash64sum={int(row['h'] or 0) % 2**64:016x}"


def _versions(spark: SparkSession) -> dict[str, str]:
    import numpy
    import pyarrow
    import pyspark
    import shap
    import sklearn
    import xgboost

    modules = (pyspark, xgboost, shap, sklearn, pd, pyarrow, numpy)
    return {"python": platform.python_version(), "spark": spark.version, **{m.__name__: m.__version__ for m in modules}}


# Cached partitions stay small: a partition is cached as one block, and two tasks each unrolling
# a 500,000-row block (the synthetic generator's two partitions at a million customers) ran
# Spark's default 1g heap out of memory while caching the encoded table.
ROWS_PER_PARTITION = 100_000


def _sized(table: DataFrame, rows: int) -> DataFrame:
    """`table` spread over at least rows / ROWS_PER_PARTITION partitions (by customer ID); unchanged
    when it already has that many, so small datasets keep their layout and their results."""
    wanted = -(-rows // ROWS_PER_PARTITION)
    if table.rdd.getNumPartitions() >= wanted:
        return table
    log.info("spreading %d rows over %d partitions", rows, wanted)
    return table.repartition(wanted, F.col(layout.ID_COLUMN))


def _sample(table: DataFrame, rows: int | None, seed: int) -> DataFrame:
    if rows is None:
        return table
    return table.orderBy(F.xxhash64(F.lit(seed + 1), F.col(layout.ID_COLUMN))).limit(rows)


def run(spark: SparkSession, spec: DatasetSpec, config: RunConfig, raw: DataFrame | None = None) -> Bundle:
    """Train, explain and publish one bundle; returns the published bundle."""
    timings = _Timings(spark)
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    name = config.bundle_name or spec.name
    check_bundle_name(name)  # fail before training, not after
    tuning.check_mode(config.tuning)
    log.info("run %s: dataset %s → bundle %s", run_id, spec.name, name)
    with scratch_dir(config.artifacts, name, run_id) as scratch:
        return _run(spark, spec, config, raw, timings, run_id, name, scratch)


def _run(
    spark: SparkSession,
    spec: DatasetSpec,
    config: RunConfig,
    raw: DataFrame | None,
    timings: _Timings,
    run_id: str,
    name: str,
    scratch: Path,
) -> Bundle:
    with timings.stage("ingest"):
        raw = raw if raw is not None else spec.load(spark)
    with timings.stage("validate"):
        typed = _sample(validate(raw, spec), config.sample, config.seed).cache()
        dataset_print = fingerprint(typed)
    with timings.stage("split"):
        table, split = assign_split(typed, config.test_fraction, config.seed)
        table = _sized(table, split.train_rows + split.test_rows).cache()
        table.count()
        typed.unpersist()  # `table` holds the same rows from here on
        log.info("split: %d train / %d test rows", split.train_rows, split.test_rows)
    with timings.stage("features"):
        pipeline_model = features.build_pipeline(spec).fit(table.where(F.col(layout.SPLIT_COLUMN) == "train"))
        encoded = features.encode(pipeline_model, table).cache()
        slots = features.encoding_slots(pipeline_model, spec)
        grouping = grouping_matrix(slots, spec.feature_names)
        train = encoded.where(F.col(layout.SPLIT_COLUMN) == "train").cache()

    fitted: list[FittedModel] = []
    fits = families()
    for model_name in config.models:
        with timings.stage(f"train {model_name}"):
            fitted.append(
                fits[model_name](train, config.seed, config.model_params.get(model_name), tuning_mode=config.tuning)
            )

    with timings.stage("score + SHAP"):
        # Sorted before scoring (mapInArrow keeps row order), so the SHAP pass runs once and
        # Spark writes the part files in ID order; nothing per customer reaches the driver.
        keep = [layout.ID_COLUMN, layout.LABEL_COLUMN, layout.SPLIT_COLUMN, *spec.feature_names]
        by_id = encoded.orderBy(layout.ID_COLUMN)
        scored = publish.write_scored(
            explain.score_and_explain(by_id, fitted, grouping, spec.feature_names, keep), scratch
        )
        log.info(
            "scored and explained every customer with %d models into %d sorted part files", len(fitted), len(scored)
        )

    with timings.stage("evaluate"):
        model_entries, curve_frames, calibration_frames, score_frames = {}, [], [], []
        tables: dict[str, pd.DataFrame] = {}
        # Driver memory: label, split and one probability per model for every customer
        # (≈ 10 + 8 × models bytes per customer; 42 MB at 1M customers with four models).
        outcome = publish.read_columns(
            scored, [layout.LABEL_COLUMN, layout.SPLIT_COLUMN, *(probability_column(m.name) for m in fitted)]
        )
        test = pc.equal(outcome.column(layout.SPLIT_COLUMN), "test").to_numpy(zero_copy_only=False)
        labels = outcome.column(layout.LABEL_COLUMN).to_numpy()
        y_test = labels[test]
        for model in fitted:
            every = outcome.column(probability_column(model.name)).to_numpy()
            probability = every[test]
            model_entries[model.name] = _model_entry(model, y_test, probability, config.threshold, len(slots))
            model_entries[model.name]["risk_bands"] = risk.cutoffs_from_scores(every[~test])
            curve_frames.append(evaluate.curves(model.name, y_test, probability))
            calibration_frames.append(evaluate.calibration(model.name, y_test, probability))
            score_frames.append(evaluate.score_distribution(model.name, y_test, probability))
            log.info("%s: test ROC AUC %.4f", model.name, model_entries[model.name]["metrics"]["roc_auc"])
        champion = max(model_entries, key=lambda m: model_entries[m]["metrics"][CHAMPION_METRIC])
        tables[layout.CURVES] = pd.concat(curve_frames, ignore_index=True)
        tables[layout.CALIBRATION] = pd.concat(calibration_frames, ignore_index=True)
        tables[layout.SCORE_DISTRIBUTION] = pd.concat(score_frames, ignore_index=True)
        train_mask = pc.equal(outcome.column(layout.SPLIT_COLUMN), "train").to_numpy(zero_copy_only=False)
        tables[layout.BACKGROUND] = publish.background_sample(
            scored, train_mask, spec.feature_names, config.background_rows, config.seed
        )
        rows, label_rate = len(labels), float(labels.mean())
        del outcome, labels
        log.info("champion: %s", champion)

    with timings.stage("partial dependence"):
        grid_rows = partial_dependence.grid_rows(table, spec.feature_names, rows, config.seed)
        tables[layout.PDP], tables[layout.ICE] = partial_dependence.compute(
            table, grid_rows, spec, slots, fitted, config.seed
        )
        del grid_rows
    with timings.stage("permutation importance"):
        test_rows = importance.test_sample(table, spec.feature_names, int(test.sum()), config.seed)
        tables[layout.PERMUTATION_IMPORTANCE] = importance.permutation_importance(
            {m.name: build_kernel(m.runtime, m.portable) for m in fitted},
            test_rows[spec.feature_names],
            test_rows[layout.LABEL_COLUMN].to_numpy(),
            slots,
            spec.feature_names,
            config.seed,
        )

    item_stage = None
    if spec.events is not None:
        with timings.stage("item vectors"):
            item_stage = items.build(
                spark, spec.events, config.item_params, config.seed, table.select(layout.ID_COLUMN), scratch
            )

    with timings.stage("publish"):
        manifest = {
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "dataset": {
                "name": spec.name,
                "source": spec.source,
                "fingerprint": dataset_print,
                "rows": rows,
                "label_rate": label_rate,
                "label_name": spec.label_column,
                "positive_label": spec.positive_label,
                "id_type": id_type(raw, spec),
                "id_column": spec.id_column,  # None: customers numbered by row
                **({"id_hashing": hashing.manifest_entry()} if spec.hash_ids else {}),
                "sample": config.sample,
            },
            "split": split.as_manifest(),
            "features": [feature_types.manifest_entry(f, _categories(f.name, slots)) for f in spec.features],
            "encoding": slots,
            "models": model_entries,
            "champion": champion,
            "champion_metric": CHAMPION_METRIC,
            "versions": _versions(spark),
            "timings": dict(timings),
            "memory": timings.memory,
            "spark": _spark_entry(spark),
            **({"items": item_stage.manifest} if item_stage else {}),
        }
        with stage_bundle(config.artifacts, name, run_id) as staged:
            bundle = publish.write_bundle(
                staged,
                tables,
                fitted,
                pipeline_model,
                manifest,
                item_stage,
                scored=scored,
                feature_names=spec.feature_names,
            )
    log.info("published %s (run %s) in %.0f s", bundle.path, run_id, sum(timings.values()))
    for cached in (train, encoded, table, typed):
        cached.unpersist()
    return bundle


def _spark_entry(spark: SparkSession) -> dict:
    conf = spark.sparkContext.getConf()
    settings = {
        key: conf.get(key)
        for key in ("spark.driver.memory", "spark.executor.memory", "spark.driver.maxResultSize")
        if conf.contains(key)
    }
    return {
        "master": spark.sparkContext.master,
        "default_parallelism": spark.sparkContext.defaultParallelism,
        "driver_jvm_heap_max_mb": jvm_heap_max_mb(spark),
        "settings": settings,
    }


SHAP_METHODS = {
    "linear": "exact linear SHAP (independent features, training means as background)",
    "tree": "TreeSHAP, path-dependent (shap)",
    "xgboost": "TreeSHAP, path-dependent (xgboost pred_contribs)",
    "sklearn_hgb": "TreeSHAP, path-dependent (shap on the scikit-learn model)",
}


def _base_value(model: FittedModel, n_slots: int) -> float:
    """The log-odds every explanation of `model` starts from (the same for every row)."""
    _, base = build_kernel(model.runtime, model.portable).contributions(np.zeros((1, n_slots)))
    return float(base[0])


def _model_entry(
    model: FittedModel, y_test: np.ndarray, probability: np.ndarray, threshold: float, n_slots: int
) -> dict:
    return {
        "family": model.family,
        "display_name": model.display_name,
        "params": model.params,
        "metrics": evaluate.evaluate(y_test, probability, threshold),
        "threshold": threshold,
        "training_seconds": round(model.training_seconds, 3),
        "shap": {
            "base_value": _base_value(model, n_slots),
            "output": "log_odds",
            "method": SHAP_METHODS.get(model.runtime, model.runtime),
        },
        **model.extra,
    }


def _categories(feature: str, slots: list[dict]) -> dict:
    categories = [s["category"] for s in slots if s["feature"] == feature and s["kind"] == "onehot"]
    return {"categories": categories} if categories else {}

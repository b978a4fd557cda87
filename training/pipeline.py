"""One training run, stage by stage: ingest → validate → split → features →
models → score + SHAP → evaluate → publish. Each stage logs what it did and how
long it took; the timings go into the manifest."""

from __future__ import annotations

import logging
import platform
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from bundle import layout
from bundle.encoding import grouping_matrix
from bundle.reader import Bundle
from bundle.risk import band_cutoffs
from bundle.runtime import build_kernel
from bundle.writer import check_bundle_name, stage_bundle
from training import evaluate, explain, features, publish
from training.datasets import DatasetSpec
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


class _Timings(dict):
    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        log.info("%s …", name)
        started = time.perf_counter()
        yield
        self[name] = round(time.perf_counter() - started, 3)
        log.info("%s done in %.1f s", name, self[name])


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


def _sample(table: DataFrame, rows: int | None, seed: int) -> DataFrame:
    if rows is None:
        return table
    return table.orderBy(F.xxhash64(F.lit(seed + 1), F.col(layout.ID_COLUMN))).limit(rows)


def run(spark: SparkSession, spec: DatasetSpec, config: RunConfig, raw: DataFrame | None = None) -> Bundle:
    """Train, explain and publish one bundle; returns the published bundle."""
    timings = _Timings()
    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    name = config.bundle_name or spec.name
    check_bundle_name(name)  # fail before training, not after
    log.info("run %s: dataset %s → bundle %s", run_id, spec.name, name)

    with timings.stage("ingest"):
        raw = raw if raw is not None else spec.load(spark)
    with timings.stage("validate"):
        typed = _sample(validate(raw, spec), config.sample, config.seed).cache()
        dataset_print = fingerprint(typed)
    with timings.stage("split"):
        table, split = assign_split(typed, config.test_fraction, config.seed)
        table = table.cache()
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
            fitted.append(fits[model_name](train, config.seed, config.model_params.get(model_name)))

    with timings.stage("score + SHAP"):
        keep = [layout.ID_COLUMN, layout.LABEL_COLUMN, layout.SPLIT_COLUMN, *spec.feature_names]
        result = explain.score_and_explain(encoded, fitted, grouping, spec.feature_names, keep).toArrow()
        tables = publish.per_customer_tables(result, [m.name for m in fitted], spec.feature_names)
        log.info("scored and explained %d customers with %d models", result.num_rows, len(fitted))

    with timings.stage("evaluate"):
        model_entries, curve_frames = {}, []
        customers = tables[layout.CUSTOMERS].to_pandas()
        test = (customers[layout.SPLIT_COLUMN] == "test").to_numpy()
        y_test = customers[layout.LABEL_COLUMN].to_numpy()[test]
        for model in fitted:
            every = tables[layout.predictions_path(model.name)].column(layout.PROBABILITY_COLUMN).to_numpy()
            probability = every[test]
            model_entries[model.name] = _model_entry(model, y_test, probability, config.threshold, len(slots))
            model_entries[model.name]["risk_bands"] = band_cutoffs(every)
            curve_frames.append(evaluate.curves(model.name, y_test, probability))
            log.info("%s: test ROC AUC %.4f", model.name, model_entries[model.name]["metrics"]["roc_auc"])
        champion = max(model_entries, key=lambda m: model_entries[m]["metrics"][CHAMPION_METRIC])
        tables[layout.CURVES] = pd.concat(curve_frames, ignore_index=True)
        tables[layout.BACKGROUND] = publish.background_sample(
            tables[layout.CUSTOMERS], spec.feature_names, config.background_rows, config.seed
        )
        log.info("champion: %s", champion)

    with timings.stage("publish"):
        manifest = {
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "dataset": {
                "name": spec.name,
                "source": spec.source,
                "fingerprint": dataset_print,
                "rows": len(customers),
                "label_rate": float(customers[layout.LABEL_COLUMN].mean()),
                "label_name": spec.label_column,
                "positive_label": spec.positive_label,
                "id_type": id_type(raw, spec),
                "sample": config.sample,
            },
            "split": split.as_manifest(),
            "features": [{"name": f.name, "type": f.type, "label": f.label, "actionable": f.actionable, **_categories(f.name, slots)} for f in spec.features],
            "encoding": slots,
            "models": model_entries,
            "champion": champion,
            "champion_metric": CHAMPION_METRIC,
            "versions": _versions(spark),
            "timings": dict(timings),
            "spark": {"master": spark.sparkContext.master, "default_parallelism": spark.sparkContext.defaultParallelism},
        }
        with stage_bundle(config.artifacts, name, run_id) as staged:
            bundle = publish.write_bundle(staged, tables, fitted, pipeline_model, manifest)
    log.info("published %s (run %s) in %.0f s", bundle.path, run_id, sum(timings.values()))
    for cached in (train, encoded, table, typed):
        cached.unpersist()
    return bundle


SHAP_METHODS = {
    "linear": "exact linear SHAP (independent features, training means as background)",
    "tree": "TreeSHAP, path-dependent (shap)",
    "xgboost": "TreeSHAP, path-dependent (xgboost pred_contribs)",
}


def _base_value(model: FittedModel, n_slots: int) -> float:
    """The log-odds every explanation of `model` starts from (the same for every row)."""
    _, base = build_kernel(model.runtime, model.portable).contributions(np.zeros((1, n_slots)))
    return float(base[0])


def _model_entry(model: FittedModel, y_test: np.ndarray, probability: np.ndarray, threshold: float, n_slots: int) -> dict:
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

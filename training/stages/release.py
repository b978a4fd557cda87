"""Stage "publish": the manifest, then the bundle written and swapped in (`training.publish`)."""

from __future__ import annotations

import platform
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from pyspark.sql import SparkSession

from bundle.reader import Bundle
from bundle.writer import stage_bundle
from training import feature_types, hashing, publish, reasons
from training.datasets import DatasetSpec
from training.items import ItemStage
from training.memory import jvm_heap_max_mb
from training.models import FittedModel
from training.stages.assess import CHAMPION_METRIC, Assessment
from training.stages.prepare import Prepared
from training.stages.timings import Timings
from training.validate import id_type


def _versions(spark: SparkSession) -> dict[str, str]:
    import numpy
    import pyarrow
    import pyspark
    import shap
    import sklearn
    import xgboost

    modules = (pyspark, xgboost, shap, sklearn, pd, pyarrow, numpy)
    return {"python": platform.python_version(), "spark": spark.version, **{m.__name__: m.__version__ for m in modules}}


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


def _categories(feature: str, slots: list[dict]) -> dict:
    categories = [s["category"] for s in slots if s["feature"] == feature and s["kind"] == "onehot"]
    return {"categories": categories} if categories else {}


def _dataset_entry(spec: DatasetSpec, prepared: Prepared, assessment: Assessment, sample: int | None) -> dict:
    return {
        "name": spec.name,
        "source": spec.source,
        "fingerprint": prepared.fingerprint,
        "rows": assessment.rows,
        "label_rate": assessment.label_rate,
        "label_name": spec.label_column,
        "positive_label": spec.positive_label,
        "id_type": id_type(prepared.raw, spec),
        "id_column": spec.id_column,  # None: customers numbered by row
        **({"id_hashing": hashing.manifest_entry()} if spec.hash_ids else {}),
        "sample": sample,
    }


def manifest(
    spark: SparkSession, spec: DatasetSpec, prepared: Prepared, assessment: Assessment, parity: dict[str, dict],
    timings: Timings, sample: int | None, item_stage: ItemStage | None,
) -> dict:  # fmt: skip
    models = {name: {**entry, "parity": parity[name]} for name, entry in assessment.model_entries.items()}
    features = [feature_types.manifest_entry(f, _categories(f.name, prepared.slots)) for f in spec.features]
    for entry, (codes, source) in zip(features, reasons.feature_reasons(spec, prepared.table, features), strict=True):
        entry["reasons"], entry["reasons_source"] = codes, source
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "dataset": _dataset_entry(spec, prepared, assessment, sample),
        "split": prepared.split.as_manifest(),
        "features": features,
        "encoding": prepared.slots,
        "models": models,
        "champion": assessment.champion,
        "champion_metric": CHAMPION_METRIC,
        "champion_rule": assessment.champion_rule,
        "versions": _versions(spark),
        "timings": dict(timings),
        "memory": timings.memory,
        "spark": _spark_entry(spark),
        **({"items": item_stage.manifest} if item_stage else {}),
    }


def release(
    artifacts: Path, name: str, run_id: str, manifest: dict, prepared: Prepared, fitted: list[FittedModel],
    assessment: Assessment, scored: list[Path], feature_names: list[str], item_stage: ItemStage | None,
    after_swap: Callable[[Bundle], None] | None = None,
) -> Bundle:  # fmt: skip
    with stage_bundle(artifacts, name, run_id) as staged:
        return publish.write_bundle(
            staged,
            assessment.tables,
            fitted,
            prepared.pipeline_model,
            manifest,
            item_stage,
            scored=scored,
            feature_names=feature_names,
            after_swap=after_swap,
        )

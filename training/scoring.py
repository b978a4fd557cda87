"""Batch scoring of a new table with a published bundle, on Spark, without retraining.

    python -m training score --bundle telco --input new.csv --output scored.parquet

Scores come from `runtime`, as in training: the explain stage's workers
(`training.explain.score_and_explain`) encode the typed rows with
`runtime.encode_rows` and run the model's portable files for log-odds,
probability and SHAP values in one pass; the probability is the model's own
calibration map from the bundle's manifest (`models.<m>.calibration`) applied to
the log-odds, as in training, so a customer scored again gets the probability the
dashboard shows. The bundle's fitted Spark pipeline
(`features/spark_pipeline/`) and, for Spark ML models, the model's saved Spark
transformer are the reference: the scored rows are written to a scratch folder
next to the output, checked there (`training.explain.parity`, same tolerance as
training), and only then turned into the output.

Output, one row per input row: customer_id, model, probability, margin,
risk_band (analytics.risk), and for k = 1..4 (analytics.effects.MAX_REASONS, ranked
by |effect| as on the Customer page): reason_k_code and reason_k (the reason code
and phrase of the customer's value, `analytics.reasons.reason_for` on the bundle's
feature entry: the same codes the page and its exports use), reason_k_value (the
value as displayed), reason_k_effect (SHAP × the model's calibration slope: the
reason's share of the calibrated log-odds; positive pushes towards churn) and
reason_k_odds_factor (exp(effect): the customer's odds of churning are that many
times what they would be without the reason). Missing values are imputed as in
training; values that are not valid for their feature become missing; categories
never seen in training encode as all zeros. All three are counted per feature in
the drift report.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.ml import PipelineModel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from analytics import drift, effects, risk
from analytics.reasons import reason_for
from bundle import layout
from bundle.feature_types import display_value
from bundle.models import portable_files
from bundle.reader import Bundle, BundleError
from runtime import Calibration
from training import explain, features
from training import feature_types as ft
from training.datasets import FeatureSpec
from training.datasets.config import TableSource
from training.datasets.tables import read_table, with_integer_ids
from training.models import FittedModel, registry
from training.spark import one_row
from training.validate import ROW_ID, with_row_numbers

log = logging.getLogger("training")
REASONS = effects.MAX_REASONS


class ScoringError(Exception):
    """The new table does not fit the bundle; the message names what is wrong."""


def choose_model(bundle: Bundle, model: str | None) -> str:
    chosen = model or bundle.manifest["champion"]
    if chosen not in bundle.manifest["models"]:
        raise ScoringError(
            f"bundle '{bundle.name}' has no model '{chosen}' (models: {', '.join(bundle.manifest['models'])})"
        )
    return chosen


def model_from_bundle(bundle: Bundle, model: str) -> FittedModel:
    """A published model as the explain stage runs it: its portable runtime files, scored by `runtime`,
    and its family's parity reference (a Spark ML model reloaded from models/<name>/spark)."""
    entry = bundle.manifest["models"][model]
    families = registry()
    if model not in families:
        raise ScoringError(f"model '{model}' of bundle '{bundle.name}' is of no known family ({', '.join(families)})")
    try:
        kind, files = portable_files(bundle, model)
        reference = families[model].load_reference(bundle.path / layout.model_dir(model))
    except BundleError as exc:
        raise ScoringError(f"model '{model}' of bundle '{bundle.name}' cannot be loaded: {exc}") from exc
    return FittedModel(
        name=model,
        family=entry["family"],
        display_name=entry["display_name"],
        params=entry.get("params", {}),
        training_seconds=0.0,
        runtime=kind,
        portable=files,
        reference=reference,
        calibration=dict(entry["calibration"]),
    )


def bundle_features(manifest: dict) -> list[FeatureSpec]:
    specs = []
    for entry in manifest["features"]:
        values = entry.get("values") or {}
        specs.append(
            FeatureSpec(
                name=entry["name"],
                type=entry["type"],
                label=entry.get("label", entry["name"]),
                source=entry.get("source"),
                positive=values.get("1"),
                negative=values.get("0"),
            )
        )
    return specs


def input_table(spark: SparkSession, manifest: dict, path: str, fmt: str | None) -> tuple[DataFrame, str]:
    """The input table to score (a declared or guessed format) and the column its customer IDs are in."""
    fmt = fmt or ("parquet" if path.rstrip("/").lower().endswith((".parquet", ".pq")) else "csv")
    id_column = manifest["dataset"].get("id_column")
    table = with_integer_ids(read_table(spark, TableSource(path=path, format=fmt)), id_column)
    if id_column is None:
        return with_row_numbers(table), ROW_ID
    return table, id_column


def typed_with_quality(
    table: DataFrame, specs: list[FeatureSpec], manifest: dict
) -> tuple[list[Column], dict[str, Column]]:
    """Typed features (invalid → missing) and per-feature counts of missing, invalid and unseen values."""
    categories = {f["name"]: f.get("categories", []) for f in manifest["features"]}
    typed: list[Column] = []
    stats: dict[str, Column] = {}
    for spec in specs:
        raw = ft.raw_col(spec.column)
        invalid = F.lit(False)
        for check in ft.checks(spec, raw):
            invalid = invalid | check.condition
        value = F.when(invalid, F.lit(None)).otherwise(ft.cast(spec, raw)).cast(ft.SPARK_TYPES[spec.type])
        typed.append(value.alias(spec.name))
        stats[f"missing:{spec.name}"] = F.sum(F.when(raw.isNull() | value.isNull() & ~invalid, 1).otherwise(0))
        stats[f"invalid:{spec.name}"] = F.sum(F.when(invalid, 1).otherwise(0))
        unseen = value.isNotNull() & ~value.isin(*categories[spec.name]) if spec.type == "categorical" else F.lit(False)
        stats[f"unseen:{spec.name}"] = F.sum(F.when(unseen, 1).otherwise(0))
        stats[f"example:{spec.name}"] = F.min(F.when(invalid | unseen, raw.cast("string")))
    return typed, stats


def score_table(
    spark: SparkSession,
    bundle: Bundle,
    model: str,
    input_path: str,
    input_format: str | None,
    output: Path,
    out_format: str,
) -> str:
    manifest = bundle.manifest
    specs = bundle_features(manifest)
    table, id_column = input_table(spark, manifest, input_path, input_format)
    missing = [s.column for s in specs if s.column not in table.columns]
    if id_column not in table.columns:
        missing.insert(0, id_column)
    if missing:
        raise ScoringError(
            f"the input lacks {len(missing)} column(s) the bundle's models need: " + ", ".join(repr(c) for c in missing)
        )
    typed_columns, stats = typed_with_quality(table, specs, manifest)
    typed = table.select(ft.raw_col(id_column).alias(layout.ID_COLUMN), *typed_columns).cache()
    counts = one_row(typed.agg(F.count(F.lit(1)).alias("rows")))["rows"]
    if counts == 0:
        raise ScoringError("the input table has no rows")
    quality_row = one_row(table.agg(*(c.alias(k) for k, c in stats.items()))).asDict()
    quality = {
        s.source or s.name: {
            "missing": int(quality_row[f"missing:{s.name}"]),
            "invalid": int(quality_row[f"invalid:{s.name}"]),
            "unseen": int(quality_row[f"unseen:{s.name}"]),
            "example": quality_row[f"example:{s.name}"],
        }
        for s in specs
    }

    names = [s.name for s in specs]
    pipeline = PipelineModel.load(str(bundle.path / "features" / "spark_pipeline"))
    _write_scores(spark, bundle, model, features.encode(pipeline, typed), names, output, out_format)

    report = _drift(spark, bundle, model, typed, specs, quality, input_path, counts)
    json_path, md_path = drift.write_report(report, output)
    typed.unpersist()
    flagged = [
        f"{f['label']} ({f['status']}, PSI {f['psi']:.2f})" for f in report["features"] if f["status"] != "stable"
    ]
    problems = {k: v for k, v in quality.items() if v["invalid"] or v["unseen"]}
    lines = [f"Scored {counts:,} customers with '{model}' of bundle '{bundle.name}' → {output} ({out_format})"]
    lines += [
        f"  {k}: {v['invalid']} invalid (treated as missing), {v['unseen']} unseen categories, e.g. {v['example']!r}"
        for k, v in problems.items()
    ]
    lines.append(
        f"Drift report: {json_path} and {md_path}"
        + (f"; flagged: {', '.join(flagged)}" if flagged else "; no feature drifted")
    )
    return "\n".join(lines)


def _write_scores(
    spark: SparkSession, bundle: Bundle, model: str, encoded: DataFrame, names: list[str], output: Path, fmt: str
) -> None:
    """Runtime scores + SHAP into a scratch folder, parity checked on those rows, then reasons into `output`."""
    fitted = model_from_bundle(bundle, model)
    keep = [layout.ID_COLUMN, *names]
    explained = explain.score_and_explain(encoded, [fitted], bundle.manifest["encoding"], names, keep)
    output.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{output.name}.scoring-", dir=output.parent))
    try:
        explained.write.mode("overwrite").parquet(scratch.resolve().as_uri())
        try:
            explain.parity(spark, scratch, [fitted])
        except explain.ParityError as exc:
            raise ScoringError(str(exc)) from exc
        entry, manifest = bundle.manifest["models"][model], bundle.manifest
        cuts = risk.cutoffs(bundle, model)
        scored = spark.read.parquet(scratch.resolve().as_uri()).mapInPandas(
            lambda batches: _reasons(batches, model, entry, cuts, manifest["features"]),
            schema=_output_schema(explained.schema[layout.ID_COLUMN].dataType),
        )
        writer = scored.write.mode("overwrite")
        (writer.option("header", True).csv if fmt == "csv" else writer.parquet)(str(output))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _output_schema(id_type: T.DataType) -> T.StructType:
    fields = [
        T.StructField(layout.ID_COLUMN, id_type),
        T.StructField("model", T.StringType()),
        T.StructField(layout.PROBABILITY_COLUMN, T.DoubleType()),
        T.StructField(layout.MARGIN_COLUMN, T.DoubleType()),
        T.StructField("risk_band", T.StringType()),
    ]
    for k in range(1, REASONS + 1):
        fields += [
            T.StructField(f"reason_{k}_code", T.StringType()),
            T.StructField(f"reason_{k}", T.StringType()),
            T.StructField(f"reason_{k}_value", T.StringType()),
            T.StructField(f"reason_{k}_effect", T.DoubleType()),
            T.StructField(f"reason_{k}_odds_factor", T.DoubleType()),
        ]
    return T.StructType(fields)


def _reasons(
    batches: Iterator[pd.DataFrame], model: str, entry: dict, cuts: dict, feature_entries: list[dict]
) -> Iterator[pd.DataFrame]:
    names = [f["name"] for f in feature_entries]
    calibration = Calibration.from_manifest(entry["calibration"])
    for batch in batches:
        phi = batch[[explain.shap_column(model, n) for n in names]].to_numpy(dtype=np.float64)
        effect = calibration.effect(phi)
        margin = batch[explain.margin_column(model)].to_numpy(dtype=np.float64)
        probability = batch[explain.probability_column(model)].to_numpy(dtype=np.float64)
        out = {
            layout.ID_COLUMN: batch[layout.ID_COLUMN],
            "model": model,
            layout.PROBABILITY_COLUMN: probability,
            layout.MARGIN_COLUMN: margin,
            "risk_band": risk.band(probability, cuts),
        }
        order = effects.ranked(effect, REASONS)
        rows = np.arange(len(batch))
        for k in range(REASONS):
            if k >= len(names):  # fewer features than reasons: the column stays empty
                out |= {f"reason_{k + 1}{s}": None for s in ("_code", "", "_value", "_effect", "_odds_factor")}
                continue
            j = order[:, k]
            values = [_plain(batch[names[i]].iloc[r]) for r, i in zip(rows, j, strict=True)]
            coded = [reason_for(feature_entries[i], v) for i, v in zip(j, values, strict=True)]
            out[f"reason_{k + 1}_code"] = [c for c, _ in coded]
            out[f"reason_{k + 1}"] = [p for _, p in coded]
            out[f"reason_{k + 1}_value"] = [
                display_value(feature_entries[i], v) for i, v in zip(j, values, strict=True)
            ]
            out[f"reason_{k + 1}_effect"] = effect[rows, j]
            out[f"reason_{k + 1}_odds_factor"] = np.exp(effect[rows, j])
        yield pd.DataFrame(out)


def _plain(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return value.item() if isinstance(value, np.generic) else value


def _drift(
    spark, bundle: Bundle, model: str, typed: DataFrame, specs, quality: dict, input_path: str, rows: int
) -> dict:
    customers = bundle.read_table(layout.CUSTOMERS).to_pandas()
    train = customers[customers[layout.SPLIT_COLUMN] == "train"]
    entries = {f["name"]: f for f in bundle.manifest["features"]}
    references, aggs = {}, [F.count(F.lit(1)).alias("rows")]
    for spec in specs:
        feature = entries[spec.name]
        counts, missing, edges = drift.reference_counts(feature, train[spec.name])
        references[spec.name] = (counts, missing, edges)
        value = F.col(spec.name)
        if feature["type"] == "numeric":
            assert edges is not None  # drift.reference_counts gives edges for every numeric feature
            index = sum((F.when(value > float(e), 1).otherwise(0) for e in edges), F.lit(0))
        elif feature["type"] == "binary":
            index = value
        else:
            known = feature.get("categories", [])
            index = F.lit(len(known))
            for i, category in reversed(list(enumerate(known))):
                index = F.when(value == category, i).otherwise(index)
        aggs.append(F.sum(F.when(value.isNull(), 1).otherwise(0)).alias(f"missing:{spec.name}"))
        for b in range(len(counts)):
            aggs.append(F.sum(F.when(value.isNotNull() & (index == b), 1).otherwise(0)).alias(f"bin:{spec.name}:{b}"))
    new = one_row(typed.agg(*aggs)).asDict()
    reports = []
    for spec in specs:
        counts, missing, edges = references[spec.name]
        new_counts = np.array([new[f"bin:{spec.name}:{b}"] or 0 for b in range(len(counts))])
        reports.append(
            drift.feature_report(
                entries[spec.name], counts, missing, new_counts, int(new[f"missing:{spec.name}"] or 0), edges
            )
        )
    return {
        "bundle": bundle.name,
        "run_id": bundle.run_id,
        "model": model,
        "input": str(input_path),
        "rows_new": int(rows),
        "rows_training": int(len(train)),
        "thresholds": drift.thresholds(),
        "features": reports,
        "input_quality": quality,
    }

"""Score every customer and compute SHAP values for every model, in batch on Spark.

Every stored probability, margin and SHAP value comes from `runtime`: each
model's portable files are broadcast once, and `mapInArrow` workers encode the
raw feature columns with `runtime.encode_rows` (the manifest's `encoding`, the
encoder the dashboard uses), then take margin and SHAP from the same kernel in
one pass and the probability from the model's calibration map
(`runtime.Calibration`, Platt scaling of the margin fitted by the calibration
stage: probability = sigmoid(slope × margin + intercept)). SHAP values of one-hot
slots are summed back to the feature they encode, in the model's own log-odds.

Spark is only the reference. The rows also carry Spark's PipelineModel encoding
and, for Spark-native models, their own transform's margin (`Reference`); each
worker writes, per row, the largest gap between the two encodings, between the
runtime's margin and the reference margin, and between the calibrated
probabilities of the two margins. `parity` then aggregates those gaps in Spark
over the rows actually written and refuses a run whose gap exceeds `TOLERANCE`;
nothing per customer reaches the driver.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from bundle import layout
from training.features import FEATURES_COLUMN
from training.models import FittedModel
from training.parts import write_sorted

log = logging.getLogger("training")

# Margins are float64 in the runtime and in Spark ML; XGBoost and scikit-learn run the
# same library call on both encodings, so any gap is an encoding or kernel mismatch.
TOLERANCE = 1e-6

_WORKER_KERNELS: dict[str, Any] = {}

# Up to this many customers the pass runs on the driver (`explain_on_driver`): Spark's Python
# workers each import numpy, pandas, pyarrow, XGBoost and shap (seconds, and ~250 MB each),
# which costs more than explaining the rows. Beyond, the workers' parallelism wins.
DRIVER_ROWS = 50_000
DRIVER_BATCH_ROWS = 10_000  # Spark's own Arrow batch size (spark.sql.execution.arrow.maxRecordsPerBatch)

REFERENCE_SLOTS = "_reference_slots"  # Spark PipelineModel's encoding of a row, as array<double>
SLOT_GAP = "_parity__slots"  # per row: max |runtime encoding - Spark encoding|


class ParityError(RuntimeError):
    """The runtime's scores differ from the reference; the message says by how much and where."""


def slot_matrix(column: pa.Array | pa.ChunkedArray, n_slots: int) -> np.ndarray:
    """(rows x slots) float64 matrix of a list<double> column; no copy for a plain batch."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    values = column.flatten().to_numpy(zero_copy_only=False)
    if len(values) != len(column) * n_slots:
        raise ValueError(f"expected {n_slots} slots per row, got {len(values)} values for {len(column)} rows")
    return values.reshape(len(column), n_slots)


def probability_column(model: str) -> str:
    return f"{model}__probability"


def margin_column(model: str) -> str:
    return f"{model}__margin"


def shap_column(model: str, feature: str) -> str:
    return f"{model}__shap__{feature}"


def reference_column(model: str) -> str:
    return f"_reference__{model}"


def gap_column(model: str) -> str:
    return f"_parity__{model}"


def probability_gap_column(model: str) -> str:
    return f"_parity__{model}__probability"


def _kernel(spec: dict) -> Any:
    from runtime import build_kernel

    if spec["token"] not in _WORKER_KERNELS:
        _WORKER_KERNELS[spec["token"]] = build_kernel(spec["kind"], spec["files"])
    return _WORKER_KERNELS[spec["token"]]


def _library_reference(kernel: Any, x: np.ndarray, x_reference: np.ndarray, margin: np.ndarray) -> np.ndarray:
    """The kernel's own library call (XGBoost's predict, scikit-learn's decision_function) on Spark's encoding.

    A row Spark encoded bit for bit like the runtime gets the same deterministic call on the same input,
    i.e. its runtime margin; only rows whose encodings differ are predicted again (none, when parity holds),
    which keeps the check from costing a second full predict per batch."""
    differs = np.any(x != x_reference, axis=1)
    reference = margin.copy()
    if differs.any():
        reference[differs] = np.asarray(kernel.margin(x_reference[differs]), dtype=np.float64)
    return reference


def explain_batches(
    batches: Iterator[pa.RecordBatch],
    specs: Mapping[str, dict],
    encoding: list[dict],
    feature_names: list[str],
    passthrough: list[str],
) -> Iterator[pa.RecordBatch]:
    """Worker side: encode the raw features, then calibrated probability, margin, SHAP and parity gaps per model."""
    from runtime import Calibration, encode_rows, grouping_matrix

    grouping = grouping_matrix(encoding, feature_names)
    for batch in batches:
        x = encode_rows(pa.Table.from_batches([batch]).select(feature_names).to_pandas(), encoding)
        x_reference = slot_matrix(batch.column(REFERENCE_SLOTS), len(encoding))
        names = [*passthrough, SLOT_GAP]
        arrays = [batch.column(name) for name in passthrough]
        arrays.append(pa.array(np.max(np.abs(x - x_reference), axis=1, initial=0.0)))
        for model, spec in specs.items():
            kernel = _kernel(spec)
            margin = np.asarray(kernel.margin(x), dtype=np.float64)
            if spec["spark_reference"]:
                reference = batch.column(reference_column(model)).to_numpy(zero_copy_only=False)
            else:
                reference = _library_reference(kernel, x, x_reference, margin)
            phi, _ = kernel.contributions(x)
            grouped = np.asarray(phi @ grouping, dtype=np.float64)
            calibration = Calibration(spec["slope"], spec["intercept"])
            probability = calibration.probability(margin)
            probability_gap = np.abs(probability - calibration.probability(reference))
            names += [probability_column(model), margin_column(model), gap_column(model), probability_gap_column(model)]
            arrays += [pa.array(probability), pa.array(margin), pa.array(np.abs(margin - reference))]
            arrays.append(pa.array(probability_gap))
            names += [shap_column(model, feature) for feature in feature_names]
            arrays += [pa.array(np.ascontiguousarray(grouped[:, j])) for j in range(len(feature_names))]
        yield pa.RecordBatch.from_arrays(arrays, names=names)


def with_references(encoded: DataFrame, models: list[FittedModel], keep: list[str]) -> DataFrame:
    """`keep` columns + Spark's slot encoding (`REFERENCE_SLOTS`) + each Spark-native model's reference margin."""
    frame = encoded
    references = []
    for model in models:
        reference = model.reference
        if reference.transformer is None:
            continue
        transformed = reference.transformer.transform(frame)
        margin = vector_to_array(F.col("rawPrediction"))[1] * F.lit(reference.scale)
        # Only the margin is kept: the next model's transform adds its own rawPrediction.
        frame = transformed.select(*frame.columns, margin.alias(reference_column(model.name)))
        references.append(reference_column(model.name))
    return frame.select(*keep, *references, vector_to_array(F.col(FEATURES_COLUMN)).alias(REFERENCE_SLOTS))


def _specs(models: list[FittedModel]) -> dict[str, dict]:
    """What a worker needs to build each model's kernel; the token lets a reused Python worker keep
    one kernel per run."""
    return {
        m.name: {
            "kind": m.runtime,
            "files": m.portable,
            "spark_reference": m.reference.transformer is not None,
            "slope": m.calibration_map.slope,
            "intercept": m.calibration_map.intercept,
            "token": uuid.uuid4().hex,
        }
        for m in models
    }


def _schema(
    referenced: DataFrame, models: list[FittedModel], feature_names: list[str], keep: list[str]
) -> T.StructType:
    fields = [referenced.schema[name] for name in keep] + [T.StructField(SLOT_GAP, T.DoubleType(), False)]
    for m in models:
        fields += [
            T.StructField(probability_column(m.name), T.DoubleType(), False),
            T.StructField(margin_column(m.name), T.DoubleType(), False),
            T.StructField(gap_column(m.name), T.DoubleType(), False),
            T.StructField(probability_gap_column(m.name), T.DoubleType(), False),
        ]
        fields += [T.StructField(shap_column(m.name, f), T.DoubleType(), False) for f in feature_names]
    return T.StructType(fields)


def runtime_frame(
    referenced: DataFrame, models: list[FittedModel], encoding: list[dict], feature_names: list[str], keep: list[str]
) -> DataFrame:
    """`referenced` (from `with_references`) → `keep` + the slot gap + per model probability, margin,
    parity gap and SHAP per feature, all from `runtime` (columns in that order)."""
    sc = referenced.sparkSession.sparkContext
    broadcasts = {name: sc.broadcast(spec) for name, spec in _specs(models).items()}
    return referenced.mapInArrow(
        lambda batches: explain_batches(
            batches, {name: b.value for name, b in broadcasts.items()}, encoding, feature_names, keep
        ),
        schema=_schema(referenced, models, feature_names, keep),
    )


def explain_on_driver(
    referenced: DataFrame,
    models: list[FittedModel],
    encoding: list[dict],
    feature_names: list[str],
    keep: list[str],
    target: Path,
) -> list[Path]:
    """`runtime_frame`'s pass in this process, for small tables: the rows (sorted, from `with_references`)
    are collected as Arrow and explained by the same `explain_batches`, written as one Parquet part
    file with the schema Spark would have written. Returns that file."""
    from pyspark.sql.pandas.types import to_arrow_schema

    schema = to_arrow_schema(_schema(referenced, models, feature_names, keep))
    specs = _specs(models)
    rows = referenced.toArrow()
    target.mkdir(parents=True, exist_ok=True)
    path = target / "part-00000.parquet"
    try:
        with pq.ParquetWriter(path, schema) as writer:
            for out in explain_batches(iter(rows.to_batches(DRIVER_BATCH_ROWS)), specs, encoding, feature_names, keep):
                writer.write_batch(pa.RecordBatch.from_arrays(out.columns, schema=schema))
    finally:
        for spec in specs.values():
            _WORKER_KERNELS.pop(spec["token"], None)
    return [path]


def write_explained(
    encoded: DataFrame,
    models: list[FittedModel],
    encoding: list[dict],
    feature_names: list[str],
    keep: list[str],
    target: Path,
    rows: int,
    driver_rows: int = DRIVER_ROWS,
) -> list[Path]:
    """Every row of `encoded` scored and explained (`score_and_explain`) into Parquet part files in
    `target`, sorted by ID, returned in that order. Up to `driver_rows` rows the pass runs in this
    process (`explain_on_driver`), beyond on Spark's workers: the same function on the same batches."""
    _check_keep(feature_names, keep)
    referenced = with_references(encoded, models, keep).orderBy(layout.ID_COLUMN)
    if rows <= driver_rows:
        return explain_on_driver(referenced, models, encoding, feature_names, keep, target)
    return write_sorted(runtime_frame(referenced, models, encoding, feature_names, keep), target)


def _check_keep(feature_names: list[str], keep: list[str]) -> None:
    missing = [f for f in feature_names if f not in keep]
    if missing:
        raise ValueError(f"the runtime encodes raw features, so keep must hold them all; missing: {missing}")


def score_and_explain(
    encoded: DataFrame, models: list[FittedModel], encoding: list[dict], feature_names: list[str], keep: list[str]
) -> DataFrame:
    """`encoded` (raw features + Spark's feature vector) → `keep` columns + every model's calibrated probability,
    margin and per-feature SHAP from `runtime`, plus the parity gaps `parity` checks."""
    _check_keep(feature_names, keep)
    return runtime_frame(with_references(encoded, models, keep), models, encoding, feature_names, keep)


def parity(spark: SparkSession, written: Path | list[Path], models: list[FittedModel]) -> dict[str, dict]:
    """Check the written rows: {model: the manifest's `parity` entry}; `ParityError` above `TOLERANCE`.

    Aggregated by Spark over the part files just written; only maxima reach the driver."""
    paths = [written] if isinstance(written, Path) else written
    frame = spark.read.parquet(*(p.resolve().as_uri() for p in paths))
    row = frame.agg(
        F.count(F.lit(1)).alias("rows"),
        F.max(SLOT_GAP).alias(SLOT_GAP),
        *(F.max(gap_column(m.name)).alias(gap_column(m.name)) for m in models),
        *(F.max(probability_gap_column(m.name)).alias(probability_gap_column(m.name)) for m in models),
    ).collect()[0]
    rows = int(row["rows"])
    problems = []
    slot_gap = _finite(row[SLOT_GAP])
    if not slot_gap <= TOLERANCE:
        problems.append(f"the runtime encoder differs from Spark's PipelineModel encoding by {slot_gap:.3g}")
    entries = {}
    for model in models:
        gap = _finite(row[gap_column(model.name)])
        probability_gap = _finite(row[probability_gap_column(model.name)])
        entries[model.name] = {
            "reference": model.reference.name,
            "max_abs_margin": gap,
            "max_abs_probability": probability_gap,
            "rows": rows,
        }
        if not gap <= TOLERANCE:
            problems.append(f"model '{model.name}': runtime margins differ from {model.reference.name} by {gap:.3g}")
        if not probability_gap <= TOLERANCE:
            problems.append(
                f"model '{model.name}': calibrated probabilities differ from those of {model.reference.name}'s "
                f"margins by {probability_gap:.3g}"
            )
    log.info("parity on %d written rows: slot encoding %.3g, margins %s", rows, slot_gap, entries)
    if problems:
        raise ParityError(
            f"Scores disagree with their reference on the {rows:,} rows written (tolerance {TOLERANCE:g}): "
            + "; ".join(problems)
        )
    return entries


def _finite(value: float | None) -> float:
    # No rows gives None (nothing to disagree on); Spark's max of a NaN is NaN, which fails the check.
    return 0.0 if value is None else float(value)

"""`python -m training score --bundle NAME --input FILE --snapshot LABEL`: new data as a snapshot in the history.

Every row is scored and explained with every model of the bundle on Spark by the one batch path
(`training.explain.write_explained`, the runtime's kernels, parity-checked against Spark like training and
`training score`), written sorted by ID into the run's scratch folder and streamed into the staged snapshot;
its population figures are computed from the written rows; then it is appended (bundle/history_writer.py).
The input must hold exactly the bundle's columns: its ID column (unless customers are numbered by row), the
label column if it has one, and every feature's input column; a missing or an unknown column is refused by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.ml import PipelineModel
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from bundle import history, layout
from bundle.history_writer import append_snapshot, new_snapshot_id, stage_snapshot
from bundle.reader import Bundle
from bundle.writer import scratch_dir
from training import explain, features
from training import feature_types as ft
from training.history import check_new_label, finisher, population_figures, rows_schema, snapshot_meta, write_rows
from training.models import FittedModel
from training.scoring import ScoringError, bundle_features, input_table, model_from_bundle, typed_with_quality
from training.spark import one_row
from training.validate import ROW_ID


def _checked_columns(columns: list[str], manifest: dict, id_column: str) -> None:
    specs = bundle_features(manifest)
    expected = [id_column, *(s.column for s in specs)]
    label = manifest["dataset"].get("label_name")
    allowed = {*expected, ROW_ID, *([label] if label else [])}
    missing = [c for c in expected if c not in columns and c != ROW_ID]
    unknown = [c for c in columns if c not in allowed]
    problems = []
    if missing:
        problems.append("it lacks " + ", ".join(repr(c) for c in missing))
    if unknown:
        problems.append("the bundle has no column(s) " + ", ".join(repr(c) for c in unknown))
    if problems:
        raise ScoringError("the input's columns don't match the bundle: " + "; ".join(problems))


def score_snapshot(
    spark: SparkSession, bundle: Bundle, input_path: str, input_format: str | None, label: str, simulated: bool = False
) -> str:
    """Score `input_path` with every model of `bundle` and append it as snapshot `label`; a summary line."""
    root, manifest = bundle.path.parents[2], bundle.manifest
    check_new_label(root, bundle.name, label)
    table, id_column = input_table(spark, manifest, input_path, input_format)
    _checked_columns(table.columns, manifest, id_column)
    specs = bundle_features(manifest)
    names = [s.name for s in specs]
    typed_columns, stats = typed_with_quality(table, specs, manifest)
    customer_id = ft.raw_col(id_column)
    if manifest["dataset"].get("id_hashing"):
        from training.hashing import hashed_ids

        customer_id = hashed_ids(customer_id)  # the history holds what the bundle holds, never a raw ID
    typed = table.select(customer_id.alias(layout.ID_COLUMN), *typed_columns)
    counts = one_row(typed.agg(F.count(F.lit(1)).alias("rows"), F.countDistinct(layout.ID_COLUMN).alias("ids")))
    if counts["rows"] == 0:
        raise ScoringError("the input table has no rows")
    if counts["ids"] != counts["rows"]:
        raise ScoringError(f"the input has {counts['rows'] - counts['ids']:,} repeated customer IDs")
    quality_row = one_row(table.agg(*(c.alias(k) for k, c in stats.items()))).asDict()
    pipeline, fitted = _loaded(spark, bundle)
    keep = [layout.ID_COLUMN, *names]
    encoded, rows_in = features.encode(pipeline, typed), int(counts["rows"])
    with scratch_dir(root, bundle.name, new_snapshot_id()) as scratch:
        # The training run's own score + SHAP pass: on the driver for small tables, on workers beyond.
        files = explain.write_explained(encoded, fitted, manifest["encoding"], names, keep, scratch / "scored", rows_in)
        try:
            explain.parity(spark, files, fitted)
        except explain.ParityError as exc:
            raise ScoringError(str(exc)) from exc
        with stage_snapshot(root, bundle.name) as staged:
            rows = write_rows(staged, *_rows_from_parts(files, [m.name for m in fitted], names))
            figures = population_figures(staged.path / history.ROWS, bundle)
            figures["input_quality"] = {
                s.source or s.name: {
                    k: int(quality_row[f"{k}:{s.name}"] or 0) for k in ("missing", "invalid", "unseen")
                }
                for s in specs
            }
            meta = snapshot_meta(bundle, label, "scored", rows, str(input_path), simulated)
            append_snapshot(staged, meta, finisher(figures, meta))
    flagged = [f"{f['label']} ({f['status']})" for f in figures["features"] if f["status"] != "stable"]
    return f"Snapshot '{label}' of bundle '{bundle.name}': {rows:,} customers scored by {len(fitted)} model(s)" + (
        f"; feature drift: {', '.join(flagged)}" if flagged else "; no feature drifted"
    )


_LOADED: dict[tuple[str, str], tuple[PipelineModel, list[FittedModel]]] = {}


def _loaded(spark: SparkSession, bundle: Bundle) -> tuple[PipelineModel, list[FittedModel]]:
    """The bundle's feature pipeline and models, loaded once per Spark session and run (several months in a row
    reuse them: loading Spark ML models from disk is seconds each)."""
    key = (spark.sparkContext.applicationId, str(bundle.path))
    if key not in _LOADED:
        _LOADED.clear()  # one run at a time: an older run's models are not needed again
        pipeline = PipelineModel.load(str(bundle.path / "features" / "spark_pipeline"))
        _LOADED[key] = (pipeline, [model_from_bundle(bundle, m) for m in bundle.manifest["models"]])
    return _LOADED[key]


def _rows_from_parts(
    files: list[Path], models: list[str], names: list[str]
) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """The wide result's columns renamed to the snapshot's (`bundle.history`), batch by batch in ID order."""
    source = pq.read_schema(files[0])
    schema = rows_schema(source.field(layout.ID_COLUMN), [source.field(n) for n in names], models, names)
    wide = [layout.ID_COLUMN, *names]
    for model in models:
        wide += [explain.probability_column(model), explain.margin_column(model)]
        wide += [explain.shap_column(model, f) for f in names]

    def batches() -> Iterator[pa.RecordBatch]:
        for path in files:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=65_536, columns=wide):
                yield pa.RecordBatch.from_arrays(batch.columns, schema=schema)

    return schema, batches()


DEMO_MONTHS = 6
DEMO_START = "2026-01"


def demo_history_wanted(root: Path, name: str) -> bool:
    """`make demo` adds simulated months only to a bundle whose history is still empty."""
    return not history.read_index(root, name)["snapshots"]


def add_simulated_months(spark: SparkSession, bundle: Bundle, months: int = DEMO_MONTHS) -> list[str]:
    """Months 2..`months` of `training.datasets.monthly` from the bundle's own customers, each scored into its
    history as a simulated snapshot (month 1 is the training snapshot); one summary line per month."""
    import tempfile

    from training.datasets import monthly

    ids = bundle.read_table(layout.CUSTOMERS, columns=[layout.ID_COLUMN]).column(0).to_numpy()
    with tempfile.TemporaryDirectory(prefix="churnlens-months-") as tmp:
        paths = monthly.write_months(monthly.telco_first_month(ids), Path(tmp), months, DEMO_START)
        return [score_snapshot(spark, bundle, str(path), "parquet", path.stem, simulated=True) for path in paths]

"""Turn one training run's results into a bundle, through bundle.writer.

Per-customer results are never collected: Spark writes them sorted by ID into the
run's scratch folder, and the per-customer tables are streamed from those part
files batch by batch.

This module decides what goes where in the bundle; `bundle.writer` owns how a
bundle is written and swapped in atomically.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame

from bundle import layout
from bundle.reader import Bundle
from bundle.writer import StagedBundle, write_rebatched
from store import recent_items
from training.explain import margin_column, probability_column, shap_column
from training.items import ItemStage
from training.models import FittedModel
from training.parts import scored_files, write_sorted

__all__ = ["SCORED_DIR", "scored_files", "write_scored", "write_sorted"]


SCORED_DIR = "scored"  # Spark's sorted wide output inside the run's scratch folder
READ_BATCH_ROWS = 65_536


def write_scored(scored: DataFrame, scratch: Path) -> list[Path]:
    """Spark writes the wide per-customer result (sorted by ID: `scored` comes sorted) as Parquet
    part files; returns them in order, so reading them one after another yields sorted rows.
    Nothing is collected on the driver."""
    return write_sorted(scored, scratch / SCORED_DIR)


def iter_batches(files: list[Path], columns: list[str]) -> Iterator[pa.RecordBatch]:
    """The wide result's `columns`, batch by batch, in ID order (bounded memory)."""
    for path in files:
        yield from pq.ParquetFile(path).iter_batches(batch_size=READ_BATCH_ROWS, columns=columns)


def read_columns(files: list[Path], columns: list[str]) -> pa.Table:
    """A few columns of every customer (the caller states what that costs)."""
    return pa.Table.from_batches(list(iter_batches(files, columns)), schema=_schema(files, columns))


def _schema(files: list[Path], columns: list[str]) -> pa.Schema:
    schema = pq.read_schema(files[0]).remove_metadata()
    return pa.schema([schema.field(c) for c in columns])


def per_customer_columns(models: list[str], feature_names: list[str]) -> dict[str, dict[str, str]]:
    """Bundle table → {column in the bundle: column of the wide result}."""
    tables = {
        layout.CUSTOMERS: {c: c for c in (layout.ID_COLUMN, layout.LABEL_COLUMN, layout.SPLIT_COLUMN, *feature_names)}
    }
    for model in models:
        tables[layout.predictions_path(model)] = {
            layout.ID_COLUMN: layout.ID_COLUMN,
            layout.PROBABILITY_COLUMN: probability_column(model),
            layout.MARGIN_COLUMN: margin_column(model),
        }
        tables[layout.shap_path(model)] = {
            layout.ID_COLUMN: layout.ID_COLUMN,
            **{f: shap_column(model, f) for f in feature_names},
        }
    return tables


def write_per_customer_tables(
    staged: StagedBundle, files: list[Path], models: list[str], feature_names: list[str]
) -> int:
    """Stream the sorted wide result into the bundle's aligned per-customer tables, one table
    at a time, one batch at a time (memory: one 64k-row group of one table)."""
    rows = None
    for relpath, mapping in per_customer_columns(models, feature_names).items():
        source = _schema(files, list(mapping.values()))
        schema = pa.schema([source.field(wide).with_name(name) for name, wide in mapping.items()])
        batches = (
            pa.RecordBatch.from_arrays(batch.columns, schema=schema)
            for batch in iter_batches(files, list(mapping.values()))
        )
        written = staged.write_batches(relpath, schema, batches)
        if rows is not None and written != rows:
            raise RuntimeError(f"{relpath}: {written} rows, expected {rows}")
        rows = written
    return rows or 0


def recent_items_schema(id_field: pa.Field) -> pa.Schema:
    """CUSTOMER_ITEMS as the bundle stores it; the ID column is typed as in customers.parquet."""
    return pa.schema([
        id_field.with_name(layout.ID_COLUMN), ("rank", pa.int32()), (layout.ITEM_ID_COLUMN, pa.string()),
        ("ts", pa.timestamp("ns")), ("value", pa.float64()),
    ])  # fmt: skip


def write_recent_items(staged: StagedBundle, files: list[Path], id_field: pa.Field) -> int:
    """Stream Spark's sorted recent-items part files into CUSTOMER_ITEMS (16k-row groups: the dashboard
    decodes one per lookup; one group in memory); no rows (no customer has events) gives an empty
    table with the same columns."""
    schema = recent_items_schema(id_field)
    batches = (
        pa.Table.from_batches([batch]).select(schema.names).cast(schema).to_batches()[0]
        for batch in iter_batches(files, schema.names)
        if batch.num_rows
    )
    return write_rebatched(
        staged.target(layout.CUSTOMER_ITEMS), schema, batches, rows_per_group=recent_items.ROW_GROUP_ROWS
    )


def take_rows(files: list[Path], positions: np.ndarray, columns: list[str]) -> pa.Table:
    """Rows at sorted `positions` (of the sorted wide result), streamed."""
    picked, start = [], 0
    for batch in iter_batches(files, columns):
        end = start + batch.num_rows
        inside = positions[(positions >= start) & (positions < end)] - start
        if len(inside):
            picked.append(batch.take(pa.array(inside)))
        start = end
    return pa.Table.from_batches(picked, schema=_schema(files, columns))


def background_sample(
    files: list[Path], train_mask: np.ndarray, feature_names: list[str], rows: int, seed: int
) -> pa.Table:
    """`rows` training customers picked with `seed` (positions from the split column alone; rows streamed)."""
    train = np.flatnonzero(train_mask)
    picks = np.random.default_rng(seed).choice(len(train), size=min(rows, len(train)), replace=False)
    return take_rows(files, train[np.sort(picks)], [layout.ID_COLUMN, *feature_names])


def write_bundle(
    staged: StagedBundle,
    tables: dict[str, pa.Table],
    models: list[FittedModel],
    pipeline_model: PipelineModel,
    manifest: dict,
    item_stage: ItemStage | None = None,
    scored: list[Path] | None = None,
    feature_names: list[str] | None = None,
    after_swap: Callable[[Bundle], None] | None = None,
) -> Bundle:
    """`tables` are written as they are; `scored` (the sorted wide result's part files) is
    streamed into the per-customer tables."""
    for relpath, table in tables.items():
        staged.write_table(relpath, table)
    if scored is not None:
        if feature_names is None:
            raise ValueError("write_bundle: the scored part files need their feature_names")
        write_per_customer_tables(staged, scored, [m.name for m in models], feature_names)
    if item_stage is not None:
        for relpath, table in item_stage.tables.items():
            staged.write_table(relpath, table)
        # The customers' own ID type (their sorted part files say it even when no customer has events).
        id_field = _schema(scored or item_stage.recent, [layout.ID_COLUMN]).field(layout.ID_COLUMN)
        write_recent_items(staged, item_stage.recent, id_field)
        item_stage.model.write().overwrite().save(str(staged.target(layout.WORD2VEC_DIR)))
    pipeline_model.write().overwrite().save(str(staged.target("features/spark_pipeline")))
    for model in models:
        base = layout.model_dir(model.name)
        for file_name, content in model.portable.items():
            staged.target(f"{base}/{file_name}").write_bytes(content)
        native = model.save_native(Path(staged.target(f"{base}/.keep").parent)) if model.save_native else {}
        portable = {file_name: f"{base}/{file_name}" for file_name in model.portable}
        manifest["models"][model.name]["files"] = {
            **{Path(file_name).stem: relpath for file_name, relpath in portable.items()},
            **{role: f"{base}/{path}" for role, path in native.items()},
        }
        manifest["models"][model.name]["runtime"] = {"kind": model.runtime, "files": portable}
    return staged.publish(manifest, after_swap)

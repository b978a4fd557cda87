"""Turn one training run's collected results into a bundle, through bundle.writer.

This module decides what goes where in the bundle; `bundle.writer` owns how a
bundle is written and swapped in atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.ml import PipelineModel

from bundle import layout
from bundle.reader import Bundle
from bundle.writer import StagedBundle
from training.explain import margin_column, probability_column, shap_column
from training.items import ItemStage
from training.models import FittedModel


def per_customer_tables(result: pa.Table, models: list[str], feature_names: list[str]) -> dict[str, pa.Table]:
    """Split the collected wide result into the bundle's aligned per-customer tables."""
    result = result.sort_by(layout.ID_COLUMN)
    ids = result.column(layout.ID_COLUMN)
    tables = {
        layout.CUSTOMERS: result.select([layout.ID_COLUMN, layout.LABEL_COLUMN, layout.SPLIT_COLUMN, *feature_names])
    }
    for model in models:
        tables[layout.predictions_path(model)] = pa.table(
            {
                layout.ID_COLUMN: ids,
                layout.PROBABILITY_COLUMN: result.column(probability_column(model)),
                layout.MARGIN_COLUMN: result.column(margin_column(model)),
            }
        )
        tables[layout.shap_path(model)] = pa.table(
            {layout.ID_COLUMN: ids, **{f: result.column(shap_column(model, f)) for f in feature_names}}
        )
    return tables


def background_sample(customers: pa.Table, feature_names: list[str], rows: int, seed: int) -> pa.Table:
    train = customers.filter(pc.equal(customers.column(layout.SPLIT_COLUMN), "train"))
    picks = np.random.default_rng(seed).choice(train.num_rows, size=min(rows, train.num_rows), replace=False)
    return train.take(np.sort(picks)).select([layout.ID_COLUMN, *feature_names])


def write_bundle(
    staged: StagedBundle,
    tables: dict[str, pa.Table],
    models: list[FittedModel],
    pipeline_model: PipelineModel,
    manifest: dict,
    item_stage: ItemStage | None = None,
) -> Bundle:
    for relpath, table in tables.items():
        staged.write_table(relpath, table)
    if item_stage is not None:
        for relpath, table in item_stage.tables.items():
            staged.write_table(relpath, table)
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
    return staged.publish(manifest)

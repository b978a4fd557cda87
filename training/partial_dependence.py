"""Partial dependence and ICE for every feature of every model, computed on Spark.

For each feature a grid of values is chosen on the driver (tiny): quantiles of
the observed values for numbers (5%…95% plus the observed minimum and maximum,
`inverted_cdf` so every grid value was actually observed), both values of a
binary feature, every category of a categorical one. A deterministic sample of
customers (up to `MAX_CUSTOMERS`, ordered by xxhash64(seed, customer_id)) is
spread over Spark partitions and cross-joined with the broadcast grid, so the
work (customers × grid points × models) is distributed over both. Each worker
sets the feature to the grid value on raw rows, encodes them with
`runtime.encoding.encode_rows` and scores them with `runtime` kernels
(broadcast once, built once per worker) and each model's calibration map, so
the curves are in the calibrated probabilities every other table holds. Spark averages per (feature, grid
point); ICE lines are the first `ICE_CUSTOMERS` of the same sample.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from bundle import layout
from training.datasets import DatasetSpec
from training.models import FittedModel

MAX_CUSTOMERS = 2_000
# The grid's quantiles come from every customer up to this many, a deterministic sample beyond
# (driver memory: this many rows × features).
GRID_ROWS = 100_000
ICE_CUSTOMERS = 50
QUANTILES = np.linspace(0.05, 0.95, 13)

_WORKER_KERNELS: dict[str, Any] = {}


def _label(value: float) -> str:
    return f"{value:g}"


def feature_grid(customers: pd.DataFrame, spec: DatasetSpec, encoding: list[dict]) -> pd.DataFrame:
    """Rows: feature, grid_index, value (as displayed), numeric_value (NaN for categories)."""
    rows = []
    for feature in spec.features:
        if feature.type == "categorical":
            values = [s["category"] for s in encoding if s["feature"] == feature.name and s["kind"] == "onehot"]
            rows += [(feature.name, i, v, np.nan) for i, v in enumerate(values)]
            continue
        observed = pd.to_numeric(customers[feature.name], errors="coerce").dropna().to_numpy(dtype=np.float64)
        if len(observed) == 0:
            continue
        if feature.type == "binary":
            points = np.unique(observed)
        else:
            points = np.unique(
                np.concatenate(
                    [[observed.min(), observed.max()], np.quantile(observed, QUANTILES, method="inverted_cdf")]
                )
            )
        rows += [(feature.name, i, _label(v), float(v)) for i, v in enumerate(points)]
    return pd.DataFrame(rows, columns=["feature", "grid_index", "value", "numeric_value"]).astype(
        {"grid_index": np.int32}
    )


def grid_rows(table: DataFrame, feature_names: list[str], rows: int, seed: int, limit: int = GRID_ROWS) -> pd.DataFrame:
    """The raw feature values grids are chosen from: all `rows` customers up to `limit`, else a
    deterministic sample of `limit` (ordered by xxhash64(seed, customer_id))."""
    picked = table
    if rows > limit:
        picked = table.orderBy(F.xxhash64(F.lit(seed + 53), F.col(layout.ID_COLUMN)), layout.ID_COLUMN).limit(limit)
    return picked.select(*(F.col(f"`{n}`") for n in feature_names)).toPandas()


def sample_customers(table: DataFrame, feature_names: list[str], seed: int, limit: int = MAX_CUSTOMERS) -> DataFrame:
    """The customers averaged over, with a `_rank` (0 = first); ICE uses ranks below `ICE_CUSTOMERS`."""
    order = F.xxhash64(F.lit(seed + 31), F.col(layout.ID_COLUMN))
    picked = table.select(layout.ID_COLUMN, *feature_names).orderBy(order, layout.ID_COLUMN).limit(limit)
    return picked.withColumn("_rank", F.row_number().over(_window(order)) - 1)


def _window(order):
    from pyspark.sql import Window

    return Window.orderBy(order, F.col(layout.ID_COLUMN))


def _probability_column(model: str) -> str:
    return f"{model}__pd"


def _score_batches(
    batches: Iterator[pd.DataFrame], specs: dict, encoding: list[dict], feature_types: dict[str, str], keep: list[str]
) -> Iterator[pd.DataFrame]:
    from runtime import Calibration, build_kernel, encode_rows

    features = list(feature_types)
    for batch in batches:
        for feature, part in batch.groupby("feature", sort=False):
            rows = part[features].copy()
            if feature_types[feature] == "categorical":
                rows[feature] = part["value"].astype(object)
            else:
                rows[feature] = part["numeric_value"].astype(np.float64)
            x = encode_rows(rows, encoding)
            out = part[keep].reset_index(drop=True)
            for model, broadcast in specs.items():
                spec = broadcast.value
                if spec["token"] not in _WORKER_KERNELS:
                    _WORKER_KERNELS[spec["token"]] = build_kernel(spec["kind"], spec["files"])
                calibration = Calibration(spec["slope"], spec["intercept"])
                out[_probability_column(model)] = calibration.probability(_WORKER_KERNELS[spec["token"]].margin(x))
            yield out


def compute(
    table: DataFrame,
    grid_source: pd.DataFrame,
    spec: DatasetSpec,
    encoding: list[dict],
    models: list[FittedModel],
    seed: int,
    max_customers: int = MAX_CUSTOMERS,
    ice_customers: int = ICE_CUSTOMERS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pdp, ice) tables for every model and feature (see artifacts/README.md); `grid_source`
    (from `grid_rows`) holds the feature values the grids are chosen from."""
    spark = table.sparkSession
    grid = feature_grid(grid_source, spec, encoding)
    parallelism = max(1, spark.sparkContext.defaultParallelism)
    sample = sample_customers(table, spec.feature_names, seed, max_customers).repartition(parallelism * 2)
    grid_frame = spark.createDataFrame(
        grid,
        schema="feature string, grid_index int, value string, numeric_value double",
    )
    expanded = sample.crossJoin(F.broadcast(grid_frame))
    specs = {
        m.name: spark.sparkContext.broadcast(
            {
                "kind": m.runtime,
                "files": m.portable,
                "slope": m.calibration_map.slope,
                "intercept": m.calibration_map.intercept,
                "token": uuid.uuid4().hex,
            }
        )
        for m in models
    }
    keep = [layout.ID_COLUMN, "_rank", "feature", "grid_index"]
    fields = [expanded.schema[c] for c in keep] + [
        T.StructField(_probability_column(m.name), T.DoubleType(), False) for m in models
    ]
    feature_types = {f.name: f.type for f in spec.features}
    scored = expanded.mapInPandas(
        lambda batches: _score_batches(batches, specs, encoding, feature_types, keep), schema=T.StructType(fields)
    ).persist()
    try:
        averages = (
            scored.groupBy("feature", "grid_index")
            .agg(
                F.count(F.lit(1)).alias("customers"),
                *(F.avg(_probability_column(m.name)).alias(m.name) for m in models),
            )
            .toPandas()
        )
        ice_wide = scored.where(F.col("_rank") < ice_customers).drop("_rank").toPandas()
    finally:
        scored.unpersist()
        for broadcast in specs.values():
            broadcast.unpersist()
    return _pdp_table(averages, grid, models), _ice_table(ice_wide, models)


def _pdp_table(averages: pd.DataFrame, grid: pd.DataFrame, models: list[FittedModel]) -> pd.DataFrame:
    merged = grid.merge(averages, on=["feature", "grid_index"], how="inner")
    frames = [
        merged[["feature", "grid_index", "value", "numeric_value", "customers"]].assign(
            model=m.name, average_probability=merged[m.name].to_numpy()
        )
        for m in models
    ]
    out = pd.concat(frames, ignore_index=True)
    out = out[["model", "feature", "grid_index", "value", "numeric_value", "average_probability", "customers"]]
    order = {f: i for i, f in enumerate(grid["feature"].drop_duplicates())}
    out = out.sort_values(["model", "feature", "grid_index"], key=lambda c: c.map(order) if c.name == "feature" else c)
    return out.astype({"grid_index": np.int32, "customers": np.int64}).reset_index(drop=True)


def _ice_table(wide: pd.DataFrame, models: list[FittedModel]) -> pd.DataFrame:
    frames = [
        wide[["feature", "grid_index", layout.ID_COLUMN]].assign(
            model=m.name, probability=wide[_probability_column(m.name)].to_numpy()
        )
        for m in models
    ]
    out = pd.concat(frames, ignore_index=True)[["model", "feature", "grid_index", layout.ID_COLUMN, "probability"]]
    return (
        out.sort_values(["model", "feature", layout.ID_COLUMN, "grid_index"])
        .astype({"grid_index": np.int32})
        .reset_index(drop=True)
    )

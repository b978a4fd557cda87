"""Partial dependence and ICE for every feature of every model, on the driver through `runtime`.

For each feature a grid of values is chosen (tiny): quantiles of the observed values for
numbers (5%…95% plus the observed minimum and maximum, `inverted_cdf` so every grid value
was actually observed), both values of a binary feature, every category of a categorical
one. A deterministic sample of customers (up to `MAX_CUSTOMERS`, ordered by
xxhash64(seed, customer_id)) is collected from Spark once. The work is bounded whatever the
table's size (customers × grid points × models), so it runs in one process: the sample is
encoded once with `runtime.encoding.encode_rows`, each grid value is encoded with the same
encoder and written into its feature's slots (what encoding the raw rows with the feature set
to that value gives, as the encoding is column by column), and the rows are scored with
`runtime` kernels and each model's calibration map, so the curves are in the calibrated
probabilities every other table holds. Partial dependence is the mean over the sample per
(feature, grid point); ICE lines are the first `ICE_CUSTOMERS` of the same sample.

It ran as a Spark cross join scored in Python workers before: 5.8 s for 2,000 customers on a
10,000-customer table, mostly job and worker start-up (issue #22); on the driver it is the
kernels' time alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bundle import layout
from runtime import Calibration, build_kernel
from runtime.encoding import encode_rows
from training.datasets import DatasetSpec
from training.models import FittedModel

Scorer = tuple[Any, Calibration]  # a runtime kernel and its model's calibration map

MAX_CUSTOMERS = 2_000
# The grid's quantiles come from every customer up to this many, a deterministic sample beyond
# (driver memory: this many rows × features).
GRID_ROWS = 100_000
ICE_CUSTOMERS = 50
QUANTILES = np.linspace(0.05, 0.95, 13)


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


def sample_customers(table: DataFrame, feature_names: list[str], seed: int, limit: int = MAX_CUSTOMERS) -> pd.DataFrame:
    """The customers averaged over (ID and raw features), in sample order: row i has rank i, and ICE
    uses the first `ICE_CUSTOMERS`."""
    order = F.xxhash64(F.lit(seed + 31), F.col(layout.ID_COLUMN))
    picked = table.select(layout.ID_COLUMN, *feature_names).orderBy(order, layout.ID_COLUMN).limit(limit)
    return pd.DataFrame(picked.toPandas()).reset_index(drop=True)


def _grid_value_slots(feature: str, value: object, encoding: list[dict], slots: list[int]) -> np.ndarray:
    """The runtime encoder's values for `feature`'s slots when `feature` = `value`."""
    return encode_rows(pd.DataFrame({feature: pd.Series([value], dtype=object)}), [encoding[i] for i in slots])[0]


def _curves(
    sample: pd.DataFrame, grid: pd.DataFrame, spec: DatasetSpec, encoding: list[dict], scorers: dict[str, Scorer]
) -> dict[str, np.ndarray]:
    """{model: (grid rows × customers) calibrated probabilities}, rows in `grid`'s order."""
    base = encode_rows(sample[spec.feature_names], encoding)
    types = {f.name: f.type for f in spec.features}
    out = {model: np.empty((len(grid), len(sample))) for model in scorers}
    for feature, part in grid.groupby("feature", sort=False):
        name = str(feature)
        slots = [i for i, entry in enumerate(encoding) if entry["feature"] == name]
        values = part["value"] if types[name] == "categorical" else part["numeric_value"]
        for position, value in zip(part.index, values, strict=True):
            x = base.copy()
            x[:, slots] = _grid_value_slots(name, value, encoding, slots)
            for model, (kernel, calibration) in scorers.items():
                out[model][position] = calibration.probability(kernel.margin(x))
    return out


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
    grid = feature_grid(grid_source, spec, encoding).reset_index(drop=True)
    sample = sample_customers(table, spec.feature_names, seed, max_customers)
    if sample.empty:
        raise ValueError("partial dependence needs at least one customer")
    scorers = {m.name: (build_kernel(m.runtime, m.portable), m.calibration_map) for m in models}
    curves = _curves(sample, grid, spec, encoding, scorers)
    averages = grid[["feature", "grid_index"]].assign(customers=len(sample))
    for model, matrix in curves.items():
        averages[model] = matrix.mean(axis=1)
    ice = min(ice_customers, len(sample))
    ice_wide = grid.loc[grid.index.repeat(ice), ["feature", "grid_index"]].reset_index(drop=True)
    ice_wide[layout.ID_COLUMN] = np.tile(sample[layout.ID_COLUMN].to_numpy()[:ice], len(grid))
    for model, matrix in curves.items():
        ice_wide[_probability_column(model)] = matrix[:, :ice].reshape(-1)
    return _pdp_table(averages, grid, models), _ice_table(ice_wide, models)


def _probability_column(model: str) -> str:
    return f"{model}__pd"


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

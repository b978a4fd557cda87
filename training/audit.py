"""Audit dimensions on Spark: what customers are grouped by, every group counted over every customer,
and the test split's rows (a fixed sample beyond `layout.AUDIT_ROW_CAP`) with their group labels.

A dimension is an audit column (the dataset spec's `audit`, or a config's `[audit] columns`) or a
feature. Categories and binary values are groups as they are (the most frequent `MAX_GROUPS - 1` and
"(other)" beyond `MAX_GROUPS`); numbers are cut into `QUANTILE_BINS` bins at quantiles of every customer
(Spark's approxQuantile, relative error 0.001; tied edges merged). Missing values form "(missing)".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from analytics.groups import MISSING
from bundle import layout
from training.datasets import DatasetSpec
from training.feature_types import raw_col
from training.parts import seeded_rows

QUANTILE_BINS = 5
MAX_GROUPS = 20
OTHER = "(other)"


@dataclass
class Dimension:
    name: str
    label: str
    source: str  # "audit" | "feature"
    binning: str  # "categories" | "quantiles"
    edges: list[float] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)

    def entry(self) -> dict:
        entry = {"name": self.name, "label": self.label, "source": self.source, "binning": self.binning}
        return entry | ({"edges": self.edges} if self.binning == "quantiles" else {}) | {"groups": self.groups}


def _number(value: float) -> str:
    return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"


def bin_labels(edges: list[float]) -> list[str]:
    """'< 12', '12 to < 29', …, '≥ 70': lower edges inclusive."""
    if not edges:
        return ["all"]
    inner = [f"{_number(lo)} to < {_number(hi)}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    return [f"< {_number(edges[0])}", *inner, f"≥ {_number(edges[-1])}"]


def dimensions(table: DataFrame, spec: DatasetSpec) -> list[Dimension]:
    """Audit columns first, then the other features; quantile edges of numbers from every customer."""
    features = {f.name: f for f in spec.features}
    names = list(dict.fromkeys([*spec.audit, *spec.feature_names]))
    numeric = [n for n in names if n in features and features[n].type == "numeric"]
    edges = (
        table.approxQuantile(numeric, [i / QUANTILE_BINS for i in range(1, QUANTILE_BINS)], 0.001) if numeric else []
    )
    by_name = {n: sorted({float(e) for e in cut if np.isfinite(e)}) for n, cut in zip(numeric, edges, strict=True)}
    out = []
    for name in names:
        label = features[name].label if name in features else name
        source = "audit" if name in spec.audit else "feature"
        if name in by_name:
            out.append(
                Dimension(name, label, source, "quantiles", by_name[name], [*bin_labels(by_name[name]), MISSING])
            )
        else:
            out.append(Dimension(name, label, source, "categories"))
    return out


def group_expr(dimension: Dimension, spec: DatasetSpec) -> Column:
    """The group label of each customer as a Spark column (categories: before the `OTHER` cap)."""
    column = raw_col(dimension.name)
    if dimension.binning == "quantiles":
        labels = bin_labels(dimension.edges)
        expr = F.when(column.isNull() | F.isnan(column), F.lit(MISSING))
        for edge, label in zip(dimension.edges, labels, strict=False):
            expr = expr.when(column < F.lit(edge), F.lit(label))
        return expr.otherwise(F.lit(labels[-1]))
    kind = next((f.type for f in spec.features if f.name == dimension.name), "categorical")
    if kind == "binary":
        return F.when(column.isNull(), F.lit(MISSING)).when(column == 1, F.lit("Yes")).otherwise(F.lit("No"))
    return F.coalesce(column.cast("string"), F.lit(MISSING))


def count_groups(table: DataFrame, spec: DatasetSpec, dims: list[Dimension]) -> pd.DataFrame:
    """Customers, churn rate and test customers per dimension and group, over every customer (one
    Spark aggregation); fills each categorical dimension's `groups` (capped at MAX_GROUPS)."""
    pairs = F.array(*(F.struct(F.lit(d.name).alias("d"), group_expr(d, spec).alias("g")) for d in dims))
    exploded = table.select(
        F.col(layout.LABEL_COLUMN),
        (F.col(layout.SPLIT_COLUMN) == "test").cast("int").alias("t"),
        F.explode(pairs).alias("p"),
    )
    counts = (
        exploded.groupBy(F.col("p.d").alias("dimension"), F.col("p.g").alias("group"))
        .agg(
            F.count(F.lit(1)).alias("customers"), F.sum(layout.LABEL_COLUMN).alias("churned"), F.sum("t").alias("test")
        )
        .toPandas()
    )
    counts = pd.DataFrame(counts)
    frames = [_groups_of(d, counts[counts["dimension"] == d.name]) for d in dims]
    return pd.concat(frames, ignore_index=True)


def _groups_of(dimension: Dimension, counts: pd.DataFrame) -> pd.DataFrame:
    counts = counts.sort_values(["customers", "group"], ascending=[False, True])
    if dimension.binning == "categories":
        if len(counts) > MAX_GROUPS:
            head, tail = counts.iloc[: MAX_GROUPS - 1], counts.iloc[MAX_GROUPS - 1 :]
            other = {
                "dimension": dimension.name,
                "group": OTHER,
                **tail[["customers", "churned", "test"]].sum().to_dict(),
            }
            counts = pd.concat([head, pd.DataFrame([other])], ignore_index=True)
        named = sorted(g for g in counts["group"] if g not in (MISSING, OTHER))
        dimension.groups = named + [g for g in (OTHER, MISSING) if g in set(counts["group"])]
    present = counts.set_index("group")
    rows = [
        {
            "dimension": dimension.name,
            "group": g,
            "position": i,
            "customers": int(present.loc[g, "customers"]) if g in present.index else 0,
            "churned": int(present.loc[g, "churned"]) if g in present.index else 0,
            "test_customers": int(present.loc[g, "test"]) if g in present.index else 0,
        }
        for i, g in enumerate(dimension.groups)
    ]
    frame = pd.DataFrame(rows)
    frame["churn_rate"] = np.where(frame["customers"] > 0, frame["churned"] / frame["customers"].clip(lower=1), 0.0)
    return frame.drop(columns="churned")


def test_rows(table: DataFrame, spec: DatasetSpec, dims: list[Dimension], seed: int, cap: int) -> pd.DataFrame:
    """The test split (the first `cap` by xxhash64(seed, customer_id) beyond `cap`), sorted by ID: ID,
    label, raw features and one group label per dimension (categories beyond the cap read OTHER)."""
    test = table.where(F.col(layout.SPLIT_COLUMN) == "test")
    columns = [
        *(raw_col(n) for n in spec.feature_names),
        *(group_expr(d, spec).alias(layout.group_column(d.name)) for d in dims),
    ]
    frame = seeded_rows(test, seed + 202, cap, columns)
    for d in dims:
        column = layout.group_column(d.name)
        frame[column] = frame[column].where(frame[column].isin(d.groups), OTHER)
    return frame

"""Reason codes for the manifest: given ones checked and coded, the rest generated from the training split.

Generated numeric ranges cut at the training split's quartiles (Spark's
`percentile_approx`, relative error 1/1000), rounded to readable numbers
(`training.datasets.reasons.readable_edges`); a range no training value falls in is
merged into its neighbour, so every range is non-empty and every non-missing value
falls in exactly one. A feature gets a "missing" reason when some customer of the
table (either split) has it missing. Two aggregations over the cached table, whatever
the number of features.
"""

from __future__ import annotations

import logging

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from bundle import layout
from training.datasets import DatasetSpec, FeatureSpec
from training.datasets import reasons as spec_reasons
from training.spark import one_row

log = logging.getLogger("training")

QUARTILES = (0.25, 0.5, 0.75)
ACCURACY = 1000  # percentile_approx: relative error 1 / ACCURACY


class ReasonError(ValueError):
    """A dataset spec whose reasons break the rules (a config's are checked when it is read)."""


def given(feature: FeatureSpec) -> list[dict]:
    """The manifest entries of a feature's own reasons, codes filled in; refused with every mistake."""
    where = f"dataset spec, feature {feature.name!r}: reasons"
    problems = spec_reasons.shape_problems(feature.reasons, where)
    problems += spec_reasons.type_problems(feature.type, feature.reasons, where)
    if problems:
        raise ReasonError("; ".join(problems))
    return spec_reasons.entries(feature.name, feature.reasons)


def _range(column: Column, lower: float | None, upper: float | None) -> Column:
    condition = column.isNotNull()
    if lower is not None:
        condition = condition & (column >= lower)
    if upper is not None:
        condition = condition & (column < upper)
    return F.sum(F.when(condition, 1).otherwise(0))


def non_empty(edges: list[float], counts: list[int]) -> list[float]:
    """`edges` without those that bound an empty range (`counts`: rows per range, len(edges) + 1)."""
    edges, counts = list(edges), list(counts)
    i = 0
    while i < len(counts) and edges:
        if counts[i] > 0:
            i += 1
            continue
        # Merge range i into a neighbour: drop its upper edge (or its lower one for the last range).
        drop = i if i < len(edges) else i - 1
        counts[drop] += counts[drop + 1]
        del counts[drop + 1]
        del edges[drop]
        i = max(0, drop - 1)
    return edges


def feature_reasons(spec: DatasetSpec, table: DataFrame, manifest_features: list[dict]) -> list[tuple[list[dict], str]]:
    """(manifest reasons, reasons_source) per feature of `spec`, in order. `table`: the typed table
    with its split column; `manifest_features`: the features' manifest entries (categories known)."""
    train = F.col(layout.SPLIT_COLUMN) == "train"
    todo = [f for f in spec.features if not f.reasons]
    numeric = [f for f in todo if f.type == "numeric"]
    stats: dict[str, Column] = {}
    for i, feature in enumerate(todo):
        stats[f"missing{i}"] = F.sum(F.when(F.col(feature.name).isNull(), 1).otherwise(0))
    for i, feature in enumerate(numeric):
        value = F.when(train, F.col(feature.name))
        stats[f"q{i}"] = F.percentile_approx(value, list(QUARTILES), ACCURACY)
    row = one_row(table.agg(*(c.alias(k) for k, c in stats.items()))).asDict() if stats else {}

    edges: dict[str, list[float]] = {}
    for i, feature in enumerate(numeric):
        edges[feature.name] = spec_reasons.readable_edges(row[f"q{i}"] or [])
    counts: dict[str, Column] = {}
    for feature in numeric:
        bounds: list[float | None] = [None, *edges[feature.name], None]
        for b, (lower, upper) in enumerate(zip(bounds, bounds[1:], strict=False)):
            counts[f"{feature.name}#{b}"] = _range(F.when(train, F.col(feature.name)), lower, upper)
    if counts:
        found = one_row(table.agg(*(c.alias(k) for k, c in counts.items()))).asDict()
        for feature in numeric:
            cuts = edges[feature.name]
            edges[feature.name] = non_empty(cuts, [int(found[f"{feature.name}#{b}"]) for b in range(len(cuts) + 1)])

    entries = {f["name"]: f for f in manifest_features}
    out = []
    for feature in spec.features:
        if feature.reasons:
            out.append((given(feature), feature.reasons_source))
            continue
        i = todo.index(feature)
        reasons = spec_reasons.generated(entries[feature.name], edges.get(feature.name, []), bool(row[f"missing{i}"]))
        out.append((spec_reasons.entries(feature.name, reasons), "generated"))
    log.info("reason codes: %d given, %d generated", len(spec.features) - len(todo), len(todo))
    return out

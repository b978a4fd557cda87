"""Dataset specs: where rows come from and what each column means."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame, SparkSession

if TYPE_CHECKING:
    from training.events import EventSource


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    type: str  # "numeric" | "binary" | "categorical" (bundle.layout.FEATURE_TYPES)
    label: str  # what a business user reads


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    source: str
    id_column: str
    label_column: str
    positive_label: str
    features: tuple[FeatureSpec, ...]
    load: Callable[[SparkSession], DataFrame] = field(repr=False, compare=False)
    # Datasets built from an event log also feed the item-vector stage.
    events: EventSource | None = field(default=None, repr=False, compare=False)

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    def of_type(self, kind: str) -> list[str]:
        return [f.name for f in self.features if f.type == kind]


def builtin(name: str) -> DatasetSpec:
    from training.datasets import movielens, telco

    specs = {"telco": telco.SPEC, "movielens": movielens.SPEC}
    if name not in specs:
        raise KeyError(f"Unknown dataset '{name}'. Built-in datasets: {', '.join(sorted(specs))}.")
    return specs[name]

"""Dataset specs: where rows come from and what each column means."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    type: str  # "numeric" | "binary" | "categorical" (bundle.layout.FEATURE_TYPES)
    label: str  # what a business user reads
    # Something the business can change for a customer (offer a contract, add tech support);
    # the dashboard's retention levers only ever suggest changes to actionable features.
    actionable: bool = False


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    source: str
    id_column: str
    label_column: str
    positive_label: str
    features: tuple[FeatureSpec, ...]
    load: Callable[[SparkSession], DataFrame] = field(repr=False, compare=False)

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    def of_type(self, kind: str) -> list[str]:
        return [f.name for f in self.features if f.type == kind]


def builtin(name: str) -> DatasetSpec:
    from training.datasets import telco

    specs = {"telco": telco.SPEC}
    if name not in specs:
        raise KeyError(f"Unknown dataset '{name}'. Built-in datasets: {', '.join(sorted(specs))}.")
    return specs[name]

"""What a dataset is: its features and where its rows come from (`DatasetSpec`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from training.datasets.reasons import Reason

if TYPE_CHECKING:  # pyspark only for the hints: init-config on a local file imports no pyspark
    from pyspark.sql import DataFrame, SparkSession

    from training.events import EventSource


@dataclass(frozen=True)
class FeatureSpec:
    name: str  # safe name (bundle.feature_types.is_safe_name): the feature's name in Spark and in the bundle
    type: str  # "numeric" | "binary" | "categorical" (bundle.layout.FEATURE_TYPES)
    label: str  # what a business user reads
    source: str | None = None  # the column in the input table, when it differs from `name`
    positive: str | None = None  # binary from text: the value meaning 1 ("Y"); None = the column holds 0/1
    negative: str | None = None  # binary from text: the value meaning 0 ("N")
    category_labels: tuple[tuple[str, str], ...] = ()  # categorical: (value, display label) pairs
    actionable: bool = False  # a retention lever the business can change
    # Reason codes (training/datasets/reasons.py); empty: generated at training from the training split.
    reasons: tuple[Reason, ...] = ()
    reasons_source: str = "spec"  # where given reasons come from: "spec" or "config"

    @property
    def column(self) -> str:
        return self.source or self.name


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    source: str
    id_column: str | None  # None: customers are numbered by row (1, 2, …) in input order
    label_column: str
    positive_label: str
    features: tuple[FeatureSpec, ...]
    load: Callable[[SparkSession], DataFrame] = field(repr=False, compare=False)
    # Datasets built from an event log also feed the item-vector stage.
    events: EventSource | None = field(default=None, repr=False, compare=False)
    max_categories: int = 50  # a categorical with more levels is refused before training
    hash_ids: bool = False  # replace IDs by HMAC-SHA256(key, ID) at ingest (bundle.ids)
    # Columns kept for audit (group metrics on the Validation page): feature names, or other columns
    # of the input table, carried as text for audit only (never a model input).
    audit: tuple[str, ...] = ()

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def audit_only(self) -> list[str]:
        """Audit columns that are not features: carried through validation as text."""
        return [c for c in self.audit if c not in self.feature_names]

    def of_type(self, kind: str) -> list[str]:
        return [f.name for f in self.features if f.type == kind]

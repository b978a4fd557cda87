"""Per-customer lookups over a bundle's aligned per-customer tables.

One `CustomerStore` per bundle run is meant to be shared read-only by every
session of a process: it holds columns as NumPy arrays and finds a customer by
binary search on the sorted ids, then reads that row position from each table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from bundle import ids, layout
from bundle.manifest import feature_names
from bundle.reader import Bundle

MAX_ID_LENGTH = layout.ID_MAX_LENGTH
_STRING_ID = re.compile(layout.STRING_ID_PATTERN)


class CustomerLookupError(Exception):
    """A customer ID that cannot be shown; the message is meant for the user."""


class MalformedCustomerId(CustomerLookupError):
    pass


class UnknownCustomer(CustomerLookupError):
    pass


@dataclass(frozen=True)
class CustomerRecord:
    customer_id: int | str
    label: int
    split: str
    features: dict[str, object]
    probability: dict[str, float]  # per model
    margin: dict[str, float]  # per model, log-odds
    percentile: dict[str, float]  # per model: % of customers scored lower than this one
    shap: dict[str, dict[str, float]]  # per model: feature -> SHAP value (log-odds)


def parse_customer_id(raw: object, id_type: str) -> int | str:
    """Turn what a user typed (or a URL carried) into an ID, or explain why not."""
    # U+2060 (word joiner) is what the dashboard puts into shown text to stop autolinks; a pasted copy may carry it.
    text = str(raw if raw is not None else "").replace("\u2060", "").strip()
    if not text:
        raise MalformedCustomerId("Enter a customer ID.")
    if len(text) > MAX_ID_LENGTH:
        raise MalformedCustomerId(f"A customer ID has at most {MAX_ID_LENGTH} characters.")
    if id_type == "int":
        if not re.fullmatch(r"[+-]?\d+", text):
            shown = text if len(text) <= 20 else text[:20] + "…"
            raise MalformedCustomerId(f"'{shown}' is not a customer ID: IDs in this bundle are whole numbers.")
        return int(text)
    if not _STRING_ID.fullmatch(text):
        raise MalformedCustomerId("A customer ID contains only letters, digits and . - _ : @ / +")
    return text


class CustomerStore:
    """Column arrays of one bundle run, indexed by customer ID."""

    def __init__(self, bundle: Bundle) -> None:
        manifest = bundle.manifest
        self.id_type: str = manifest["dataset"]["id_type"]
        # Hashed IDs (bundle.ids): the store holds HMACs; what a user types is hashed with the process's key.
        self.hashed = ids.is_hashed(manifest)
        self._manifest = manifest
        self.features = feature_names(manifest)
        self.models = list(manifest["models"])
        customers = bundle.read_table(layout.CUSTOMERS)
        self._ids = customers.column(layout.ID_COLUMN).to_numpy(zero_copy_only=False)
        self._labels = customers.column(layout.LABEL_COLUMN).to_numpy()
        self._splits = customers.column(layout.SPLIT_COLUMN).to_numpy(zero_copy_only=False)
        self._feature_columns = {
            name: customers.column(name).to_numpy(zero_copy_only=False) for name in self.features
        }
        self._probability: dict[str, np.ndarray] = {}
        self._margin: dict[str, np.ndarray] = {}
        self._sorted_probability: dict[str, np.ndarray] = {}
        self._shap: dict[str, np.ndarray] = {}
        # Lazily derived per model (benign races: two sessions compute the same array).
        self._shap32: dict[str, np.ndarray] = {}
        self._main_reason: dict[str, np.ndarray] = {}
        for model in self.models:
            predictions = bundle.read_table(layout.predictions_path(model))
            self._probability[model] = predictions.column(layout.PROBABILITY_COLUMN).to_numpy()
            self._margin[model] = predictions.column(layout.MARGIN_COLUMN).to_numpy()
            self._sorted_probability[model] = np.sort(self._probability[model])
            shap_table = bundle.read_table(layout.shap_path(model), columns=self.features)
            self._shap[model] = np.column_stack([shap_table.column(n).to_numpy() for n in self.features])

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def hashed_without_key(self) -> bool:
        """IDs are hashed and this process has no key: only hashed IDs can be looked up."""
        return self.hashed and ids.key_from_env() is None

    def stored_id(self, raw_id: object) -> int | str:
        """The ID as stored in the bundle for what a user typed (its hash in a hashed bundle)."""
        if not self.hashed:
            return parse_customer_id(raw_id, self.id_type)
        text = str(raw_id if raw_id is not None else "").strip()
        if not text:
            raise MalformedCustomerId("Enter a customer ID.")
        if len(text) > ids.MAX_RAW_LENGTH:
            raise MalformedCustomerId(f"A customer ID has at most {ids.MAX_RAW_LENGTH} characters.")
        try:
            return ids.stored_id(text, self._manifest, ids.key_from_env())
        except ValueError as exc:
            raise MalformedCustomerId(str(exc)) from None

    def url_id(self, raw_id: object) -> str:
        """What may go into a shareable URL for what a user typed: never a raw ID of a hashed bundle."""
        try:
            return str(self.stored_id(raw_id)) if self.hashed else str(raw_id).strip()
        except CustomerLookupError:
            return ""

    def position(self, raw_id: object) -> int:
        customer_id = self.stored_id(raw_id)
        pos = int(np.searchsorted(self._ids, customer_id))
        if pos >= len(self._ids) or self._ids[pos] != customer_id:
            shown = raw_id if self.hashed else customer_id
            raise UnknownCustomer(f"No customer with ID {str(shown).strip()[:64]} in this bundle.")
        return pos

    def percentile(self, model: str, probability: float) -> float:
        """% of customers scored strictly lower: "riskier than X% of customers"
        stays true when many customers share a score."""
        ranked = self._sorted_probability[model]
        return 100.0 * np.searchsorted(ranked, probability, side="left") / len(ranked)

    def lookup(self, raw_id: object) -> CustomerRecord:
        pos = self.position(raw_id)
        probability = {m: float(self._probability[m][pos]) for m in self.models}
        return CustomerRecord(
            customer_id=_plain(self._ids[pos]),
            label=int(self._labels[pos]),
            split=str(self._splits[pos]),
            features={n: _plain(self._feature_columns[n][pos]) for n in self.features},
            probability=probability,
            margin={m: float(self._margin[m][pos]) for m in self.models},
            percentile={m: self.percentile(m, p) for m, p in probability.items()},
            shap={m: dict(zip(self.features, self._shap[m][pos].tolist(), strict=True)) for m in self.models},
        )

    def record_at(self, pos: int) -> CustomerRecord:
        return self.lookup(_plain(self._ids[pos]))

    def customer_id(self, pos: int) -> int | str:
        return _plain(self._ids[pos])

    def probabilities(self, model: str) -> np.ndarray:
        """Every customer's churn probability under `model`, in row order (read-only)."""
        return self._probability[model]

    def labels(self) -> np.ndarray:
        return self._labels

    def feature_column(self, name: str) -> np.ndarray:
        """One raw feature's values for every customer, in row order (read-only)."""
        return self._feature_columns[name]

    def main_reasons(self, model: str) -> np.ndarray:
        """Per customer, the index (into `features`) of the feature that raises the risk most."""
        if model not in self._main_reason:
            # Computed once per model; a later bundle may store it (training could write it).
            self._main_reason[model] = np.argmax(self._shap[model], axis=1)
        return self._main_reason[model]

    def shap_row(self, model: str, pos: int) -> np.ndarray:
        return self._shap[model][pos]

    def nearest(self, model: str, pos: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(positions, distances) of the k customers whose SHAP vectors under `model` are
        closest (Euclidean, exact search) to customer `pos`'s, nearest first, `pos` excluded."""
        matrix = self._shap32.get(model)
        if matrix is None:
            matrix = self._shap32[model] = np.ascontiguousarray(self._shap[model], dtype=np.float32)
        diff = matrix - matrix[pos]
        distances = np.einsum("ij,ij->i", diff, diff)
        distances[pos] = np.inf
        k = max(0, min(k, len(distances) - 1))
        if k == 0:
            return np.empty(0, dtype=np.int64), np.empty(0)
        picked = np.argpartition(distances, k - 1)[:k]
        picked = picked[np.argsort(distances[picked], kind="stable")]
        return picked, np.sqrt(distances[picked].astype(np.float64))

    def example_ids(self, count: int = 3) -> list[int | str]:
        """A few valid IDs to suggest to a user who typed an unknown one."""
        picks = np.linspace(0, len(self._ids) - 1, num=min(count, len(self._ids)), dtype=int)
        return [_plain(self._ids[i]) for i in picks]


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value

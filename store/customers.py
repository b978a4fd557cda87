"""Per-customer lookups over a bundle's aligned per-customer tables.

One `CustomerStore` per bundle run is meant to be shared read-only by every
session of a process. It keeps the sorted IDs in memory, finds a customer by
binary search, then reads just that row position from each table's row group;
columns needed for every customer load lazily, per model, in compact dtypes.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from bundle import ids, layout
from bundle.manifest import feature_names
from bundle.reader import Bundle
from store.rows import RowFile, SortedIds

MAX_ID_LENGTH = layout.ID_MAX_LENGTH
_STRING_ID = re.compile(layout.STRING_ID_PATTERN)
# Customer records kept per store (a page reruns on every widget change; ~2 KB each).
RECORD_CACHE = 256
# Candidates beyond k whose distances the nearest-neighbour search re-measures exactly.
NEAREST_MARGIN = 256


class CustomerLookupError(Exception):
    """A customer ID that cannot be shown; the message is meant for the user."""


class MalformedCustomerId(CustomerLookupError):
    pass


class UnknownCustomer(CustomerLookupError):
    pass


@dataclass(frozen=True)
class CustomerRecord:
    """One customer. The per-model mappings read a model's row from disk on first access,
    so a page showing one model reads one model's tables."""

    customer_id: int | str
    label: int
    split: str
    features: dict[str, object]
    probability: Mapping[str, float]  # per model
    margin: Mapping[str, float]  # per model, log-odds
    percentile: Mapping[str, float]  # per model: % of customers scored lower than this one
    shap: Mapping[str, dict[str, float]]  # per model: feature -> SHAP value (log-odds)


class _PerModel(Mapping):
    """model -> value, computed on first access and kept (a benign race computes it twice)."""

    def __init__(self, models: list[str], load: Callable[[str], object]) -> None:
        self._models, self._load = models, load
        self._values: dict[str, object] = {}

    def __getitem__(self, model: str):
        if model not in self._values:
            if model not in self._models:
                raise KeyError(model)
            self._values[model] = self._load(model)
        return self._values[model]

    def __iter__(self) -> Iterator[str]:
        return iter(self._models)

    def __len__(self) -> int:
        return len(self._models)

    def __repr__(self) -> str:
        return repr(dict(self))


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
    """One bundle run's customers, indexed by ID, read from disk by row position.

    Held in memory, and only once asked for: the sorted IDs (int64, or one Arrow
    string array: no Python object per customer), and per model the columns a
    page needs for every customer (probabilities, main reasons, SHAP for the
    nearest-neighbour search) in compact dtypes. A single customer's row is read
    from the row group that holds it, so lookups cost the same at any size.
    Every array handed out is read-only: the store is shared by every session.
    """

    def __init__(self, bundle: Bundle) -> None:
        manifest = bundle.manifest
        self.id_type: str = manifest["dataset"]["id_type"]
        # Hashed IDs (bundle.ids): the store holds HMACs; what a user types is hashed with the process's key.
        self.hashed = ids.is_hashed(manifest)
        self._manifest = manifest
        self._bundle = bundle
        self.features = feature_names(manifest)
        self.models = list(manifest["models"])
        self._files = {layout.CUSTOMERS: RowFile(bundle, layout.CUSTOMERS, dictionary=True)}
        for model in self.models:
            for relpath in (layout.predictions_path(model), layout.shap_path(model)):
                self._files[relpath] = RowFile(bundle, relpath)
        # Only the columns a record shows are decoded (not the ID column of every table).
        self._customer_columns = [layout.ID_COLUMN, layout.LABEL_COLUMN, layout.SPLIT_COLUMN, *self.features]
        self._ids = SortedIds(bundle.read_table(layout.CUSTOMERS, columns=[layout.ID_COLUMN]).column(0))
        # One lock per lazy column: each loads once whatever the sessions, without blocking other reads.
        self._locks_lock = threading.Lock()
        self._load_locks: dict[tuple, threading.Lock] = {}
        self._columns: dict[tuple, np.ndarray | pd.Categorical] = {}
        self._records_lock = threading.Lock()
        self._records: OrderedDict[int, CustomerRecord] = OrderedDict()

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
        pos = self._ids.find(customer_id)
        if pos < 0:
            shown = raw_id if self.hashed else customer_id
            raise UnknownCustomer(f"No customer with ID {str(shown).strip()[:64]} in this bundle.")
        return pos

    def percentile(self, model: str, probability: float) -> float:
        """% of customers scored strictly lower: "riskier than X% of customers"
        stays true when many customers share a score."""
        ranked = self._sorted_probability(model)
        return 100.0 * np.searchsorted(ranked, probability, side="left") / len(ranked)

    def lookup(self, raw_id: object) -> CustomerRecord:
        return self.record_at(self.position(raw_id))

    def record_at(self, pos: int) -> CustomerRecord:
        """One customer's row of every per-customer table (recent ones are kept: pages rerun often)."""
        pos = self._checked(pos)
        with self._records_lock:
            if pos in self._records:
                self._records.move_to_end(pos)
                return self._records[pos]
        row = self._files[layout.CUSTOMERS].row(pos, self._customer_columns)
        predictions = _PerModel(
            self.models,
            lambda m: self._files[layout.predictions_path(m)].row(
                pos, [layout.PROBABILITY_COLUMN, layout.MARGIN_COLUMN]
            ),
        )
        probability = _PerModel(self.models, lambda m: float(predictions[m][layout.PROBABILITY_COLUMN]))
        record = CustomerRecord(
            customer_id=_plain(row[layout.ID_COLUMN]),
            label=int(row[layout.LABEL_COLUMN]),
            split=str(row[layout.SPLIT_COLUMN]),
            features={n: _plain(row[n]) for n in self.features},
            probability=probability,
            margin=_PerModel(self.models, lambda m: float(predictions[m][layout.MARGIN_COLUMN])),
            percentile=_PerModel(self.models, lambda m: self.percentile(m, probability[m])),
            shap=_PerModel(self.models, lambda m: self._shap_values(m, pos)),
        )
        with self._records_lock:
            self._records[pos] = record
            while len(self._records) > RECORD_CACHE:
                self._records.popitem(last=False)
        return record

    def customer_id(self, pos: int) -> int | str:
        return self._ids.at(self._checked(pos))

    def probabilities(self, model: str) -> np.ndarray:
        """Every customer's churn probability under `model`, in row order (read-only float64:
        band cut-offs are customers' own probabilities, so rounding would move customers across bands)."""
        return self._lazy(
            ("probability", model), lambda: self._read_column(layout.predictions_path(model), layout.PROBABILITY_COLUMN)
        )

    def labels(self) -> np.ndarray:
        return self._lazy(("label",), lambda: _compact_int(self._read_column(layout.CUSTOMERS, layout.LABEL_COLUMN)))

    def feature_column(self, name: str) -> np.ndarray | pd.Categorical:
        """One raw feature's values for every customer, in row order (read-only): a NumPy array,
        or for text (categorical) features a `pd.Categorical` (one small code per customer)."""
        if name not in self.features:
            raise KeyError(name)
        return self._lazy(("feature", name), lambda: self._load_feature(name))

    def main_reasons(self, model: str) -> np.ndarray:
        """Per customer, the index (into `features`) of the feature that raises the risk most."""
        return self._lazy(("reason", model), lambda: self._scan_shap(model, keep_matrix=False)[0])

    def shap_matrix(self, model: str) -> np.ndarray:
        """Every customer's SHAP values under `model` as float32 (customers x features): 4 bytes
        per feature per customer, loaded on first use and kept for the nearest-neighbour search."""
        return self._lazy(("shap32", model), lambda: self._scan_shap(model, keep_matrix=True)[1])

    def _shap_values(self, model: str, pos: int) -> dict[str, float]:
        values = self._files[layout.shap_path(model)].row(pos, self.features)
        return {n: float(values[n]) for n in self.features}

    def shap_row(self, model: str, pos: int) -> np.ndarray:
        values = self._files[layout.shap_path(model)].row(self._checked(pos), self.features)
        return np.array([values[n] for n in self.features], dtype=np.float64)

    def nearest(self, model: str, pos: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(positions, distances) of the k customers whose SHAP vectors under `model` are
        closest (Euclidean, exact distances) to customer `pos`'s, nearest first, `pos` excluded."""
        matrix = self.shap_matrix(model)
        norms = self._lazy(("shap_norms", model), lambda: _squared_norms(matrix))
        pos = self._checked(pos)
        k = max(0, min(k, len(matrix) - 1))
        if k == 0:
            return np.empty(0, dtype=np.int64), np.empty(0)
        target = matrix[pos]
        # |a - b|² = |a|² - 2 a·b + |b|²: one matrix-vector product over every customer (fast, a few MB of
        # scratch) ranks candidates; float32 rounding can only reorder near-ties, so the best k + margin
        # are re-measured exactly and the best k of those returned.
        approx = norms - 2.0 * (matrix @ target)
        approx[pos] = np.inf
        take = min(len(matrix) - 1, k + NEAREST_MARGIN)
        candidates = np.argpartition(approx, take - 1)[:take]
        diff = matrix[candidates] - target
        exact = np.einsum("ij,ij->i", diff, diff)
        order = np.lexsort((candidates, exact))[:k]
        return candidates[order], np.sqrt(exact[order].astype(np.float64))

    def example_ids(self, count: int = 3) -> list[int | str]:
        """A few valid IDs to suggest to a user who typed an unknown one."""
        picks = np.linspace(0, len(self._ids) - 1, num=min(count, len(self._ids)), dtype=int)
        return [self._ids.at(int(i)) for i in picks]

    def held(self) -> dict[str, tuple[str, int]]:
        """What the store holds for every customer now: name -> (dtype, bytes). Decoded rows
        (the last row group per file, recent records) are bounded and not listed."""
        out = {"ids": (str(self._ids.dtype), self._ids.nbytes)}
        for key, value in list(self._columns.items()):
            if isinstance(value, pd.Categorical):
                out["/".join(key)] = (f"category[{value.codes.dtype}]", value.codes.nbytes)
            else:
                out["/".join(key)] = (str(value.dtype), value.nbytes)
        return out

    # --- internals ---------------------------------------------------------------------------

    def _checked(self, pos: int) -> int:
        pos = int(pos)
        if not 0 <= pos < len(self._ids):
            raise IndexError(f"row position {pos} is outside 0..{len(self._ids) - 1}")
        return pos

    def _lazy(self, key: tuple, load):
        value = self._columns.get(key)
        if value is None:
            with self._locks_lock:
                lock = self._load_locks.setdefault(key, threading.Lock())
            with lock:
                value = self._columns.get(key)
                if value is None:
                    value = load()
                    if isinstance(value, np.ndarray):
                        value.setflags(write=False)
                    self._columns[key] = value
        return value

    def _sorted_probability(self, model: str) -> np.ndarray:
        return self._lazy(("sorted", model), lambda: np.sort(self.probabilities(model)))

    def _read_column(self, relpath: str, column: str) -> np.ndarray:
        return self._bundle.read_table(relpath, columns=[column]).column(0).to_numpy()

    def _load_feature(self, name: str):
        file = self._files[layout.CUSTOMERS]
        kind = file.schema.field(name).type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_dictionary(kind):
            # Dictionary-decoded straight from Parquet: codes + categories, never one str per row.
            column = file.read_column(name)
            if not pa.types.is_dictionary(column.type):
                column = column.dictionary_encode()
            return column.to_pandas().array if len(column) else pd.Categorical([])
        values = file.read_column(name).to_numpy()
        return _compact_int(values)

    def _scan_shap(self, model: str, keep_matrix: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Main reasons (argmax of the float64 values, as stored) and, if asked, the float32
        matrix, one row group at a time: never a float64 copy of every customer."""
        file = self._files[layout.shap_path(model)]
        n, width = len(self._ids), len(self.features)
        reasons = np.empty(n, dtype=np.uint8 if width <= 256 else np.uint16)
        # Column-major: the search's matrix-vector product runs ~10x faster than on row-major rows of 20.
        matrix = np.empty((n, width), dtype=np.float32, order="F") if keep_matrix else None
        for start, block in file.blocks(self.features):
            values = (
                np.column_stack([block.column(c).to_numpy() for c in self.features])
                if width
                else np.empty((block.num_rows, 0))
            )
            reasons[start : start + len(values)] = np.argmax(values, axis=1) if width else 0
            if matrix is not None:
                matrix[start : start + len(values)] = values
        reasons.setflags(write=False)
        self._columns.setdefault(("reason", model), reasons)  # the scan for the matrix gives these for free
        return reasons, matrix


def _squared_norms(matrix: np.ndarray) -> np.ndarray:
    out = np.zeros(len(matrix), dtype=np.float32)
    for j in range(matrix.shape[1]):  # a column at a time: one column of scratch
        out += np.square(matrix[:, j])
    return out


def _compact_int(values: np.ndarray) -> np.ndarray:
    """Whole numbers in the smallest integer dtype that holds them all (equal values, fewer bytes)."""
    if values.dtype.kind not in "iu" or len(values) == 0:
        return values
    low, high = int(values.min()), int(values.max())
    for dtype in (np.int8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return values.astype(dtype)
    return values


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value

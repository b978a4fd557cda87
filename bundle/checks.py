"""Invariants of a bundle's content.

Two levels:

- `structure_problems` runs every time a bundle is opened (cheap: Parquet
  schemas and the ID columns only): every table the manifest implies is
  listed, has the columns the manifest names with usable types, the ID type
  matches `dataset.id_type`, and every per-customer table lists the same
  customers in the same order as `customers.parquet`.
- `bundle_problems` runs before every publish (reads everything, streamed: one
  batch per table at a time, so memory stays flat at any bundle size):
  probabilities agree with log-odds, SHAP values are locally accurate
  (base value + sum of SHAP = the model's log-odds on every row), labels,
  splits, curves and the background sample are what the contract says.

Publishing also re-runs every model through the JVM-free runtime
(`runtime/`) and refuses a bundle whose margins or SHAP values it
does not reproduce.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bundle import ids as id_hashing
from bundle import layout, streaming
from bundle.audit_checks import audit_columns, audit_problems
from bundle.errors import BundleError
from bundle.feature_types import is_safe_name
from bundle.files import OPEN_THREADS, Bundle, read_schema
from bundle.item_checks import item_problems
from bundle.manifest import feature_names
from bundle.table_checks import model_table_problems
from runtime import Calibration  # the one calibration map every stored probability came from

TypeTests = tuple[Callable[[pa.DataType], bool], ...]

_NUMBER_TYPES = (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean, pa.types.is_null)
_TEXT_TYPES = (pa.types.is_string, pa.types.is_large_string, pa.types.is_null)
_FLOAT_TYPES = (pa.types.is_floating,)


def _is(kind: pa.DataType, tests: TypeTests) -> bool:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return any(test(kind) for test in tests)


def _column_problems(relpath: str, schema: pa.Schema, wanted: dict[str, TypeTests]) -> list[str]:
    problems = []
    missing = [c for c in wanted if c not in schema.names]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        problems.append(f"{relpath} lacks the column(s) {shown}")
    wrong = [c for c, tests in wanted.items() if c in schema.names and not _is(schema.field(c).type, tests)]
    if wrong:
        shown = ", ".join(f"{c} ({schema.field(c).type})" for c in wrong[:5])
        problems.append(f"{relpath} has columns of the wrong type: {shown}")
    return problems


def _per_customer_tables(manifest: dict[str, Any]) -> dict[str, dict[str, TypeTests]]:
    """Every per-customer table the manifest implies, with the columns and types it must hold."""
    id_types = (pa.types.is_integer,) if manifest["dataset"]["id_type"] == "int" else _TEXT_TYPES[:2]
    features = {f["name"]: _TEXT_TYPES if f["type"] == "categorical" else _NUMBER_TYPES for f in manifest["features"]}
    tables: dict[str, dict[str, TypeTests]] = {
        layout.CUSTOMERS: {
            layout.ID_COLUMN: id_types,
            layout.LABEL_COLUMN: (pa.types.is_integer,),
            layout.SPLIT_COLUMN: _TEXT_TYPES,
            **features,
        },
    }
    for model in manifest["models"]:
        tables[layout.predictions_path(model)] = {
            layout.ID_COLUMN: id_types,
            layout.PROBABILITY_COLUMN: _FLOAT_TYPES,
            layout.MARGIN_COLUMN: _FLOAT_TYPES,
        }
        tables[layout.shap_path(model)] = {layout.ID_COLUMN: id_types, **{n: _FLOAT_TYPES for n in features}}
    return tables


def structure_problems(bundle_dir: Path, manifest: dict[str, Any], label: str) -> list[str]:
    """The manifest against the tables: cheap enough to run on every open.

    Reads Parquet footers and ID columns only. Returns readable sentences
    (empty = consistent). Raises `BundleError` if a table can't be read at all.
    """
    tables = _per_customer_tables(manifest)
    others: dict[str, dict[str, TypeTests]] = {
        layout.CURVES: {c: _ANY for c in ("model", "curve", "x", "y", "threshold")},
        layout.BACKGROUND: {layout.ID_COLUMN: _ANY, **{n: _ANY for n in feature_names(manifest)}},
        **{relpath: dict.fromkeys(columns, _ANY) for relpath, columns in audit_columns(manifest).items()},
    }
    unlisted = [relpath for relpath in [*tables, *others] if relpath not in manifest["files"]]
    if unlisted:
        return [f"the manifest does not list {', '.join(unlisted)}"]
    problems = [
        problem
        for relpath, wanted in [*tables.items(), *others.items()]
        for problem in _column_problems(relpath, read_schema(bundle_dir, relpath, label), wanted)
    ]
    if problems:
        return problems
    rows, ordered, customer_ids = _customer_ids(bundle_dir, label)
    if rows == 0:
        return [f"{layout.CUSTOMERS} has no customers"]
    if rows != manifest["dataset"]["rows"]:
        problems.append(f"{layout.CUSTOMERS} has {rows} rows, the manifest says {manifest['dataset']['rows']}")
    if not ordered:
        problems.append(f"{layout.CUSTOMERS} is not sorted by unique {layout.ID_COLUMN}")
    return problems + _misaligned(bundle_dir, label, list(tables)[1:], customer_ids)


_ANY: TypeTests = (lambda _: True,)


def _id_batches(bundle_dir: Path, label: str, relpath: str) -> Iterator[pa.Table]:
    return streaming.batches(bundle_dir, relpath, label, [layout.ID_COLUMN])


def _customer_ids(bundle_dir: Path, label: str) -> tuple[int, bool, pa.ChunkedArray]:
    """(rows, sorted by unique ID?, the ID column) of customers.parquet.

    The IDs are read once and kept (8 bytes per customer for whole-number IDs, the same as
    the dashboard's store holds); every other table then streams against them."""
    rows, ordered, last, reference = 0, True, None, []
    for chunk in _id_batches(bundle_dir, label, layout.CUSTOMERS):
        ids = _ids(chunk)
        if last is not None and len(ids):
            ids = np.concatenate([last, ids])
        ordered = ordered and (len(ids) < 2 or bool(np.all(ids[1:] > ids[:-1])))
        rows += chunk.num_rows
        last = ids[-1:] if len(ids) else last
        reference.extend(chunk.column(layout.ID_COLUMN).chunks)
    kind = pa.int64() if not reference else reference[0].type
    return rows, ordered, pa.chunked_array(reference, type=kind)


def _misaligned(bundle_dir: Path, label: str, relpaths: list[str], customer_ids: pa.ChunkedArray) -> list[str]:
    """Tables that don't list customers.parquet's IDs in its order. Checked on a few threads:
    Parquet decoding releases the GIL, and at a million customers this is most of an open."""

    def aligned(relpath: str) -> bool:
        offset = 0
        for chunk in _id_batches(bundle_dir, label, relpath):
            if not _same_ids(customer_ids, offset, chunk.column(layout.ID_COLUMN)):
                return False
            offset += chunk.num_rows
        return offset == len(customer_ids)

    with ThreadPoolExecutor(max_workers=max(1, min(OPEN_THREADS, len(relpaths)))) as pool:
        results = list(pool.map(aligned, relpaths))
    return [
        f"{relpath} does not list the same customers in the same order as {layout.CUSTOMERS}"
        for relpath, ok in zip(relpaths, results, strict=True)
        if not ok
    ]


def _same_ids(reference: pa.ChunkedArray, offset: int, ids: pa.ChunkedArray) -> bool:
    """`ids` equal the reference's rows from `offset` on (values, not Arrow types: int32 IDs
    written by one table and int64 by another still match)."""
    part = reference.slice(offset, len(ids))
    if len(part) != len(ids):
        return False
    if ids.type != part.type:
        try:
            ids = ids.cast(part.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return False
    return part.equals(ids)


def _ids(table: pa.Table) -> np.ndarray:
    return table.column(layout.ID_COLUMN).to_numpy(zero_copy_only=False)


def _stream(bundle: Bundle, relpath: str, columns: list[str] | None = None) -> Iterator[pa.Table]:
    return streaming.batches(bundle.path, relpath, bundle.name, columns)


def _local_accuracy(shap_values: pa.Table, margin: np.ndarray, base: float, names: list[str]) -> float:
    total = np.column_stack([shap_values.column(n).to_numpy() for n in names]).sum(axis=1)
    # NaN must count as a failure, so it is not hidden by max().
    errors = np.abs(base + total - margin)
    return float("inf") if np.isnan(errors).any() else float(np.max(errors, initial=0.0))


def local_accuracy_error(bundle: Bundle, model: str) -> float:
    """Largest |base value + sum(SHAP) - margin| over every customer (streamed)."""
    names = feature_names(bundle.manifest)
    base = bundle.manifest["models"][model]["shap"]["base_value"]
    worst = 0.0
    for predictions, shap_values in streaming.lockstep(
        _stream(bundle, layout.predictions_path(model), [layout.MARGIN_COLUMN]),
        _stream(bundle, layout.shap_path(model), names),
    ):
        worst = max(worst, _local_accuracy(shap_values, predictions.column(0).to_numpy(), base, names))
    return worst


def parity_rows(rows: int) -> np.ndarray:
    """Row positions the runtime parity check covers: all, or an even sample of large bundles."""
    if rows <= layout.RUNTIME_PARITY_ROWS:
        return np.arange(rows)
    return np.unique(np.linspace(0, rows - 1, layout.RUNTIME_PARITY_ROWS).astype(np.int64))


def _take(bundle: Bundle, relpath: str, columns: list[str], positions: np.ndarray) -> pa.Table:
    picked = streaming.take_positions(_stream(bundle, relpath, columns), positions)
    if picked is None:
        raise BundleError(f"Bundle '{bundle.name}' is inconsistent: {relpath} has none of the rows to check.")
    return picked


def runtime_parity(bundle: Bundle, model: str, positions: np.ndarray | None = None) -> tuple[float, float]:
    """Largest |runtime - stored| of (margin, SHAP value) over the given customers (default: `parity_rows`)."""
    from bundle.models import load_runtime  # needs the model libraries; only parity checks pay for them

    names = feature_names(bundle.manifest)
    if positions is None:
        positions = parity_rows(pq.ParquetFile(bundle.file(layout.CUSTOMERS)).metadata.num_rows)
    positions = np.asarray(positions, dtype=np.int64)
    # Only the checked rows are kept (at most RUNTIME_PARITY_ROWS), streamed out of each table.
    rows = _take(bundle, layout.CUSTOMERS, names, positions).to_pandas()
    runtime = load_runtime(bundle, model)
    margin, shap_values = runtime.explain(rows)
    predictions = _take(bundle, layout.predictions_path(model), [layout.MARGIN_COLUMN], positions)
    stored_margin = predictions.column(0).to_numpy()
    stored_shap = _take(bundle, layout.shap_path(model), names, positions)
    stored = np.column_stack([stored_shap.column(n).to_numpy() for n in names])
    margin_error = np.abs(margin - stored_margin)
    shap_error = np.abs(shap_values - stored)
    return (
        float("inf") if np.isnan(margin_error).any() else float(np.max(margin_error, initial=0.0)),
        float("inf") if np.isnan(shap_error).any() else float(np.max(shap_error, initial=0.0)),
    )


def _parity_problems(bundle: Bundle, model: str) -> list[str]:
    try:
        margin_error, shap_error = runtime_parity(bundle, model)
    except BundleError as exc:
        return [str(exc)]
    tolerance = layout.RUNTIME_PARITY_TOLERANCE
    problems = []
    if not margin_error <= tolerance:
        problems.append(
            f"model '{model}': the JVM-free runtime misses the stored log-odds by {margin_error:.2e} "
            f"(tolerance {tolerance:g})"
        )
    if not shap_error <= tolerance:
        problems.append(
            f"model '{model}': the JVM-free runtime misses the stored SHAP values by {shap_error:.2e} "
            f"(tolerance {tolerance:g})"
        )
    return problems


def _model_problems(bundle: Bundle, model: str, names: list[str]) -> list[str]:
    problems = []
    base = bundle.manifest["models"][model]["shap"]["base_value"]
    calibration = Calibration.from_manifest(bundle.manifest["models"][model]["calibration"])
    calibration_error = error = 0.0
    for predictions, shap_values in streaming.lockstep(
        _stream(bundle, layout.predictions_path(model), [layout.PROBABILITY_COLUMN, layout.MARGIN_COLUMN]),
        _stream(bundle, layout.shap_path(model), names),
    ):
        probability = predictions.column(layout.PROBABILITY_COLUMN).to_numpy()
        margin = predictions.column(layout.MARGIN_COLUMN).to_numpy()
        if not (np.all(np.isfinite(margin)) and np.all((probability >= 0) & (probability <= 1))):
            return [f"model '{model}' has non-finite margins or probabilities outside [0, 1]"]
        gap = np.abs(calibration.probability(margin) - probability)
        calibration_error = max(calibration_error, float(np.max(gap, initial=0.0)))
        error = max(error, _local_accuracy(shap_values, margin, base, names))
    if not calibration_error <= 1e-6:
        problems.append(f"model '{model}': probabilities disagree with its calibration of the margin")
    if not error <= layout.LOCAL_ACCURACY_TOLERANCE:
        problems.append(
            f"model '{model}': base value + sum of SHAP misses the log-odds by {error:.2e} "
            f"(tolerance {layout.LOCAL_ACCURACY_TOLERANCE:g})"
        )
    listed = bundle.manifest["files"]
    entry = bundle.manifest["models"][model]
    for role, relpath in [*entry["files"].items(), *entry["runtime"]["files"].items()]:
        if relpath not in listed and not any(f.startswith(relpath + "/") for f in listed):
            problems.append(f"model '{model}': its {role} file {relpath} is not in the bundle")
    return problems or _parity_problems(bundle, model)


def _additive_key_problems(
    manifest: dict[str, Any], id_chunks: Callable[[], Iterator[pa.Table]], names: list[str]
) -> list[str]:
    """Invariants of the keys added for own data: safe feature names, hashed IDs (risk bands'
    order is a manifest rule: bundle/manifest.py)."""
    problems = [f"feature name {n!r} is not a safe name (bundle.feature_types)" for n in names if not is_safe_name(n)]
    if id_hashing.is_hashed(manifest) and not all(
        isinstance(i, str) and id_hashing.looks_hashed(i) for chunk in id_chunks() for i in _ids(chunk).tolist()
    ):
        problems.append("the manifest says IDs are hashed but some customer IDs are not 64 hex digits")
    return problems


def bundle_problems(bundle: Bundle) -> list[str]:
    """Every broken content invariant, as readable sentences (empty = sound).

    `bundle` comes from `open_bundle`, so `structure_problems` has passed:
    the columns exist with usable types and the per-customer tables are aligned.
    """
    manifest = bundle.manifest
    names = feature_names(manifest)
    background = _ids(bundle.read_table(layout.BACKGROUND, columns=[layout.ID_COLUMN]))
    problems: list[str] = []
    labels: set = set()
    splits: set = set()
    background_splits: list = []  # the split of each background customer found in customers.parquet
    for chunk in _stream(bundle, layout.CUSTOMERS, [layout.ID_COLUMN, layout.LABEL_COLUMN, layout.SPLIT_COLUMN]):
        labels |= set(pc.unique(chunk.column(layout.LABEL_COLUMN)).to_pylist())
        splits |= set(pc.unique(chunk.column(layout.SPLIT_COLUMN)).to_pylist())
        found = np.isin(_ids(chunk), background)
        background_splits += chunk.column(layout.SPLIT_COLUMN).filter(pa.array(found)).to_pylist()
    if not labels <= {0, 1}:
        problems.append(f"{layout.LABEL_COLUMN} holds values other than 0 and 1")
    if not splits <= set(layout.SPLITS):
        problems.append(f"unknown split values {sorted(splits - set(layout.SPLITS), key=str)}")

    for model in manifest["models"]:
        problems += _model_problems(bundle, model, names)
    problems += _additive_key_problems(manifest, lambda: _stream(bundle, layout.CUSTOMERS, [layout.ID_COLUMN]), names)

    curves = bundle.read_table(layout.CURVES, columns=["model", "curve"])
    if set(manifest["models"]) - set(curves.column("model").to_pylist()):
        problems.append(f"{layout.CURVES} lacks curves for some models")
    if not set(curves.column("curve").to_pylist()) <= set(layout.CURVE_KINDS):
        problems.append(f"{layout.CURVES} holds curve kinds other than {', '.join(layout.CURVE_KINDS)}")

    problems += model_table_problems(bundle, set(manifest["models"]), set(names))

    # IDs are unique (structure check), so each background customer is found at most once.
    if len(background_splits) != len(np.unique(background)) or not set(background_splits) <= {"train"}:
        problems.append(f"{layout.BACKGROUND} must hold training customers only")
    problems += audit_problems(bundle)
    if "items" in manifest:  # streamed: the recent items are walked in step with the customer IDs
        problems += item_problems(bundle)
    return problems

"""Snapshots for a bundle's history (bundle/history.py is the contract, bundle/history_writer.py appends).

Both kinds are written here: the training snapshot (every customer of a training run as its models scored
them, taken from the bundle's own aligned tables, no Spark) and a scored snapshot (`training.snapshot`, new
data scored on Spark through `training.explain`). Either way the rows go into `rows.parquet` sorted by ID,
the population figures are computed from them with `analytics.history_stats`, and what depends on the
previous snapshot (who moved risk band) is computed under the bundle's lock, against the snapshot that is
really listed last when this one is appended.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from analytics import drift, history_stats, risk
from bundle import history, layout
from bundle.errors import BundleError
from bundle.history_writer import Finish, append_locked, stage_snapshot
from bundle.reader import Bundle
from bundle.writer import StagedBundle, write_rebatched

log = logging.getLogger("training")
BATCH_ROWS = 65_536


def training_label(bundle: Bundle) -> str:
    return "trained-" + str(bundle.manifest["created_at"])[:10]


def rows_schema(
    id_field: pa.Field, feature_fields: list[pa.Field], models: list[str], features: list[str]
) -> pa.Schema:
    fields = [id_field.with_name(layout.ID_COLUMN), *feature_fields]
    for model in models:
        fields += [
            pa.field(history.probability_column(model), pa.float64()),
            pa.field(history.margin_column(model), pa.float64()),
        ]
        fields += [pa.field(history.shap_column(model, f), pa.float64()) for f in features]
    return pa.schema(fields)


def write_rows(staged: StagedBundle, schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> int:
    return write_rebatched(staged.target(history.ROWS), schema, batches, rows_per_group=history.ROW_GROUP_ROWS)


def _training_batches(bundle: Bundle, features: list[str]) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """The bundle's customers, predictions and SHAP tables read side by side (they are aligned row by row)."""
    models = list(bundle.manifest["models"])
    customers = pq.ParquetFile(bundle.path / layout.CUSTOMERS)
    source = customers.schema_arrow
    schema = rows_schema(source.field(layout.ID_COLUMN), [source.field(f) for f in features], models, features)

    def batches() -> Iterator[pa.RecordBatch]:
        readers = [customers.iter_batches(BATCH_ROWS, columns=[layout.ID_COLUMN, *features])]
        for model in models:
            readers.append(
                pq.ParquetFile(bundle.path / layout.predictions_path(model)).iter_batches(
                    BATCH_ROWS, columns=[layout.PROBABILITY_COLUMN, layout.MARGIN_COLUMN]
                )
            )
            readers.append(
                pq.ParquetFile(bundle.path / layout.shap_path(model)).iter_batches(BATCH_ROWS, columns=features)
            )
        for parts in zip(*readers, strict=True):
            arrays = [column for part in parts for column in part.columns]
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)

    return schema, batches()


def snapshot_meta(bundle: Bundle, label: str, kind: str, rows: int, source: str, simulated: bool) -> dict[str, Any]:
    features = [f["name"] for f in bundle.manifest["features"]]
    models = {
        name: {
            "display_name": entry["display_name"],
            "threshold": float(entry["threshold"]),
            "risk_bands": {k: float(v) for k, v in risk.cutoffs(bundle, name).items() if k in risk.BANDS},
            "calibration": {k: entry["calibration"][k] for k in ("slope", "intercept")},
        }
        for name, entry in bundle.manifest["models"].items()
    }
    return {
        "label": label,
        "kind": kind,
        "generation": bundle.run_id,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": source,
        "simulated": bool(simulated),
        "rows": int(rows),
        "models": models,
        "features": features,
        "labels": {f["name"]: f.get("label", f["name"]) for f in bundle.manifest["features"]},
    }


def population_figures(rows_file: Path, bundle: Bundle) -> dict[str, Any]:
    """Everything the Monitoring page shows of one snapshot except who moved band (see `finish`)."""
    manifest = bundle.manifest
    features = [f["name"] for f in manifest["features"]]
    train = bundle.read_table(layout.CUSTOMERS, columns=[layout.SPLIT_COLUMN]).column(0).to_numpy(zero_copy_only=False)
    train_mask = train == "train"
    drift_reports = []
    for feature in manifest["features"]:
        reference = bundle.read_table(layout.CUSTOMERS, columns=[feature["name"]]).column(0).to_pandas()[train_mask]
        new = pq.read_table(rows_file, columns=[feature["name"]]).column(0).to_pandas()
        drift_reports.append(history_stats.feature_drift(feature, reference, new))
    per_model = {}
    for model, entry in manifest["models"].items():
        columns = [history.shap_column(model, f) for f in features]
        phi = pq.read_table(rows_file, columns=columns).to_pandas().to_numpy(dtype=np.float64)
        reference_phi = (
            bundle.read_table(layout.shap_path(model), columns=features).to_pandas().to_numpy(dtype=np.float64)
        )
        probability = pq.read_table(rows_file, columns=[history.probability_column(model)]).column(0).to_numpy()
        per_model[model] = {
            "score_histogram": history_stats.score_histogram(probability),
            "threshold": float(entry["threshold"]),
            "share_flagged": float(np.mean(probability >= entry["threshold"])) if len(probability) else 0.0,
            "mean_probability": float(np.mean(probability)) if len(probability) else 0.0,
            **history_stats.explanation_figures(phi, reference_phi[train_mask], features),
        }
    return {
        "rows": pq.ParquetFile(rows_file).metadata.num_rows,
        "score_bins": history_stats.SCORE_BINS,
        "thresholds": drift.thresholds(),
        "features": drift_reports,
        "models": per_model,
    }


def _column(rows_file: Path, column: str) -> pa.Array:
    return pq.read_table(rows_file, columns=[column]).column(0).combine_chunks()


def finisher(figures: dict[str, Any], meta: dict[str, Any]) -> Finish:
    """The part of a snapshot that depends on the snapshot listed before it: risk bands now and then, who
    moved band (moved.parquet) and the counts of customers new to or gone from the history."""

    def finish(staged: StagedBundle, previous: history.Snapshot | None) -> None:
        rows_file = staged.path / history.ROWS
        ids = _column(rows_file, layout.ID_COLUMN)
        moved: list[pa.Table] = []
        before_ids = _column(previous.path / history.ROWS, layout.ID_COLUMN) if previous else None
        at = pc.index_in(ids, value_set=before_ids) if before_ids is not None else None
        for model, entry in meta["models"].items():
            now = _column(rows_file, history.probability_column(model)).to_numpy(zero_copy_only=False)
            bands = risk.band(now, entry["risk_bands"])
            figures["models"][model]["bands"] = history_stats.band_counts(bands)
            figures["models"][model]["moved"] = {}
            if previous is None or at is None or model not in previous.models:
                continue
            then_all = _column(previous.path / history.ROWS, history.probability_column(model)).to_numpy()
            both = ~np.asarray(at.is_null().to_numpy(zero_copy_only=False))
            where = at.fill_null(0).to_numpy(zero_copy_only=False)[both]
            then = then_all[where]
            then_bands = risk.band(then, previous.meta["models"][model]["risk_bands"])
            changed = then_bands != bands[both]
            table = pa.table({
                layout.ID_COLUMN: ids.filter(pa.array(both)).filter(pa.array(changed)),
                "model": pa.array([model] * int(changed.sum()), pa.string()),
                "band_before": pa.array(then_bands[changed], pa.string()),
                "band_after": pa.array(bands[both][changed], pa.string()),
                "probability_before": pa.array(then[changed], pa.float64()),
                "probability_after": pa.array(now[both][changed], pa.float64()),
            })  # fmt: skip
            # Largest probability change first, so the Monitoring page reads only the head of its model's rows.
            change = pc.abs(pc.subtract(table["probability_after"], table["probability_before"]))
            moved.append(table.take(pc.array_sort_indices(change, order="descending")))
            pairs = [f"{a}→{b}" for a, b in zip(table["band_before"].to_pylist(), table["band_after"].to_pylist())]
            figures["models"][model]["moved"] = dict(sorted(Counter(pairs).items()))
        if before_ids is not None and at is not None:
            figures["new_customers"] = int(at.null_count)
            figures["gone_customers"] = int(len(before_ids) - (len(ids) - at.null_count))
        schema = pa.schema([
            pa.field(layout.ID_COLUMN, ids.type), ("model", pa.string()), ("band_before", pa.string()),
            ("band_after", pa.string()), ("probability_before", pa.float64()), ("probability_after", pa.float64()),
        ])  # fmt: skip
        table = pa.concat_tables(moved) if moved else schema.empty_table()
        staged.write_table(history.MOVED, table.cast(schema))
        staged.write_json(history.AGGREGATES, figures)

    return finish


def append_training_snapshot(bundle: Bundle, label: str) -> history.Snapshot:
    """The training run as a snapshot; called while the publish that swapped `bundle` in holds the lock."""
    features = [f["name"] for f in bundle.manifest["features"]]
    root = bundle.path.parents[2]  # <root>/.runs/<name>/<run_id>
    with stage_snapshot(root, bundle.name) as staged:
        schema, batches = _training_batches(bundle, features)
        rows = write_rows(staged, schema, batches)
        figures = population_figures(staged.path / history.ROWS, bundle)
        source = str(bundle.manifest["dataset"].get("source", "training data"))
        meta = snapshot_meta(bundle, label, "training", rows, source, simulated=False)
        return append_locked(staged, meta, finisher(figures, meta))


def check_new_label(root: Path | str, name: str, label: str) -> None:
    """Refuse a label that is malformed or already in the bundle's history (before any work is done)."""
    history.check_label(label)
    if any(entry["label"] == label for entry in history.read_index(root, name)["snapshots"]):
        raise BundleError(f"Bundle '{name}' already has a snapshot labelled '{label}'; use a new label.")


def keep_training_snapshot(bundle: Bundle, label: str) -> None:
    """A publish's `after_swap`: the bundle is live by now, so a history that can't take the snapshot is
    logged, not raised (the bundle then has no training snapshot, like one trained before schema 6)."""
    try:
        snapshot = append_training_snapshot(bundle, label)
    except (BundleError, OSError, ValueError) as exc:
        log.warning("bundle %s: training snapshot '%s' not kept in the history: %s", bundle.name, label, exc)
        return
    log.info("history of %s: training snapshot '%s' (%d customers)", bundle.name, label, snapshot.meta["rows"])

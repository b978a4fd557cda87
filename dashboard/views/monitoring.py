"""The Monitoring page's data (no Streamlit): the population across a bundle's snapshots.

Everything comes from what each snapshot stored when it was appended (aggregates.json, moved.parquet); no
model runs and no per-customer table is read here, so the page costs the same at any number of customers.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from analytics import drift
from analytics.history_stats import SCORE_BINS
from bundle import history, layout

MOVED_SHOWN = 200  # moved customers listed (largest probability change first)


@dataclass(frozen=True)
class MonitoringView:
    labels: list[str]
    selected: str
    previous: str | None
    simulated: bool
    generation_changes: list[str]  # snapshots scored by a newer model generation than the one before
    trend: pd.DataFrame  # snapshot, measure, value (%): share flagged, mean probability
    mean_abs_shap: pd.DataFrame  # snapshot, feature, value (log-odds)
    main_reason: pd.DataFrame  # snapshot, feature, value (% of customers)
    histogram: pd.DataFrame  # lower, upper (%), customers
    threshold: float
    feature_drift: pd.DataFrame  # Feature, Status, PSI, Missing (training %), Missing (now %)
    explanation_drift: pd.DataFrame  # Feature, Status, SHAP PSI, Mean |SHAP| (log-odds), Main reason (%)
    moved: pd.DataFrame  # Customer, Before, After, Probability before (%), Probability after (%), Change (pts)
    moved_total: int
    moved_counts: dict[str, int]
    rows: int


def _over_time(snapshots: list[history.Snapshot], aggregates: list[dict], model: str, key: str, scale: float):
    records = [
        {"snapshot": s.label, "feature": s.meta["labels"].get(f, f), "value": v * scale}
        for s, a in zip(snapshots, aggregates, strict=True)
        if model in a["models"]
        for f, v in a["models"][model][key].items()
    ]
    return pd.DataFrame.from_records(records, columns=["snapshot", "feature", "value"])


def _drift_tables(figures: dict, model: str, labels: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    features = pd.DataFrame(
        [
            {
                "Feature": f["label"],
                "Status": f["status"],
                "PSI": f["psi"],
                "Missing (training %)": f["missing_rate_training"] * 100,
                "Missing (now %)": f["missing_rate_new"] * 100,
            }
            for f in figures["features"]
        ]
    )
    m = figures["models"][model]
    explanations = pd.DataFrame(
        [
            {
                "Feature": labels.get(f, f),
                "Status": entry["status"],
                "SHAP PSI": entry["psi"],
                "Mean |SHAP| (log-odds)": m["mean_abs_shap"][f],
                "Main reason (% of customers)": m["main_reason_share"][f] * 100,
            }
            for f, entry in m["shap_drift"].items()
        ]
    )
    order = {s: i for s, i in drift.STATUS_ORDER.items()}
    features = features.sort_values(["Status", "PSI"], key=lambda c: c.map(order) if c.name == "Status" else c,
                                    ascending=False)  # fmt: skip
    explanations = explanations.sort_values("Mean |SHAP| (log-odds)", ascending=False)
    return features.reset_index(drop=True), explanations.reset_index(drop=True)


def _moved(snapshot: history.Snapshot, model: str) -> pd.DataFrame:
    """The first `MOVED_SHOWN` of the model's moved customers: the snapshot stores each model's rows largest
    change first, so only the head of the file is read, however many customers moved."""
    picked: list[pa.Table] = []
    rows = 0
    for batch in pq.ParquetFile(snapshot.path / history.MOVED).iter_batches(batch_size=4096):
        table = pa.Table.from_batches([batch])
        table = table.filter(pc.equal(table["model"], model))
        picked.append(table)
        rows += table.num_rows
        if rows >= MOVED_SHOWN:
            break
    schema = pq.read_schema(snapshot.path / history.MOVED)
    frame = (pa.concat_tables(picked) if picked else schema.empty_table()).slice(0, MOVED_SHOWN).to_pandas()
    return pd.DataFrame(
        {
            "Customer": frame[layout.ID_COLUMN].astype(str),
            "Before": frame["band_before"],
            "After": frame["band_after"],
            "Probability before (%)": frame["probability_before"] * 100,
            "Probability after (%)": frame["probability_after"] * 100,
            "Change (pts)": (frame["probability_after"] - frame["probability_before"]) * 100,
        }
    )


def build_monitoring_view(snapshots: list[history.Snapshot], model: str, selected: str | None) -> MonitoringView:
    """`snapshots` oldest first (at least one); `selected` a label (default: the latest)."""
    aggregates = [s.aggregates() for s in snapshots]
    labels = [s.label for s in snapshots]
    at = labels.index(selected) if selected in labels else len(labels) - 1
    snapshot, figures = snapshots[at], aggregates[at]
    trend = pd.DataFrame.from_records(
        [
            {"snapshot": s.label, "measure": name, "value": a["models"][model][key] * 100}
            for s, a in zip(snapshots, aggregates, strict=True)
            if model in a["models"]
            for name, key in (("flagged at the threshold", "share_flagged"), ("mean probability", "mean_probability"))
        ],
        columns=["snapshot", "measure", "value"],
    )
    m = figures["models"][model]
    width = 100 / SCORE_BINS
    histogram = pd.DataFrame(
        {
            "lower": [i * width for i in range(SCORE_BINS)],
            "upper": [(i + 1) * width for i in range(SCORE_BINS)],
            "customers": m["score_histogram"],
        }
    )
    feature_drift, explanation_drift = _drift_tables(figures, model, snapshot.meta["labels"])
    moved = _moved(snapshot, model)
    moved_counts = dict(m.get("moved", {}))
    changes = [b.label for a, b in zip(snapshots, snapshots[1:]) if a.generation != b.generation]
    return MonitoringView(
        labels=labels,
        selected=snapshot.label,
        previous=labels[at - 1] if at > 0 else None,
        simulated=any(s.meta["simulated"] for s in snapshots),
        generation_changes=changes,
        trend=trend,
        mean_abs_shap=_over_time(snapshots, aggregates, model, "mean_abs_shap", 1.0),
        main_reason=_over_time(snapshots, aggregates, model, "main_reason_share", 100.0),
        histogram=histogram,
        threshold=float(m["threshold"]),
        feature_drift=feature_drift,
        explanation_drift=explanation_drift,
        moved=moved,
        moved_total=sum(moved_counts.values()),
        moved_counts=moved_counts,
        rows=int(figures["rows"]),
    )

"""Drift of new data against a bundle's training customers: population stability index and missing rates.

Bins come from the training rows: deciles of each numeric feature (ties merged),
0/1 for binary features, the training categories (+ one bin for categories never
seen in training) for categorical ones. Missing values are left out of the PSI
and reported as the change in missing rate instead.

    PSI = Σ_bins (new share − training share) · ln(new share / training share)   (shares floored at 1e-4)

Thresholds (the usual credit-scoring convention):
- PSI < 0.10 stable, 0.10–0.25 **watch**, ≥ 0.25 **act** (the model sees a different population);
- missing-rate change (new − training, absolute) ≥ 0.05 **watch**, ≥ 0.20 **act**.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

PSI_WATCH, PSI_ACT = 0.10, 0.25
MISSING_WATCH, MISSING_ACT = 0.05, 0.20
FLOOR = 1e-4
UNSEEN = "(unseen in training)"
STATUS_ORDER = {"stable": 0, "watch": 1, "act": 2}


def numeric_edges(values: pd.Series) -> list[float]:
    """Inner bin edges: the training deciles, duplicates merged."""
    present = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    if len(present) == 0:
        return []
    return sorted(set(np.quantile(present, np.linspace(0.1, 0.9, 9)).tolist()))


def numeric_bins(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """Bin index of each value: 0 for ≤ edges[0], …, len(edges) for > edges[-1] (= Σ value > edge)."""
    return np.searchsorted(np.asarray(edges, dtype=float), values, side="left")


def bin_labels(feature: dict, edges: list[float] | None) -> list[str]:
    if feature["type"] == "numeric":
        if not edges:
            return ["all"]
        return [f"≤ {edges[0]:g}", *(f"({a:g}, {b:g}]" for a, b in zip(edges, edges[1:])), f"> {edges[-1]:g}"]
    if feature["type"] == "binary":
        return ["0", "1"]
    return [*feature.get("categories", []), UNSEEN]


def reference_counts(feature: dict, values: pd.Series) -> tuple[np.ndarray, int, list[float] | None]:
    """(counts per bin, missing count, numeric edges) of the training values of one feature."""
    missing = int(values.isna().sum())
    present = values.dropna()
    if feature["type"] == "numeric":
        edges = numeric_edges(present)
        bins = numeric_bins(present.to_numpy(dtype=float), edges)
        return np.bincount(bins, minlength=len(edges) + 1), missing, edges
    labels = bin_labels(feature, None)
    if feature["type"] == "binary":
        index = present.astype(int).clip(0, 1).to_numpy()
    else:
        known = {c: i for i, c in enumerate(labels[:-1])}
        index = present.astype(str).map(lambda v: known.get(v, len(labels) - 1)).to_numpy(dtype=int)
    return np.bincount(index, minlength=len(labels)), missing, None


def psi(reference: np.ndarray, new: np.ndarray) -> float:
    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(new, dtype=float)
    if ref.sum() == 0 or cur.sum() == 0:
        return 0.0
    p = np.maximum(ref / ref.sum(), FLOOR)
    q = np.maximum(cur / cur.sum(), FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def status(psi_value: float, missing_change: float) -> str:
    by_psi = "act" if psi_value >= PSI_ACT else "watch" if psi_value >= PSI_WATCH else "stable"
    change = abs(missing_change)
    by_missing = "act" if change >= MISSING_ACT else "watch" if change >= MISSING_WATCH else "stable"
    return max(by_psi, by_missing, key=lambda status: STATUS_ORDER[status])


def feature_report(feature: dict, ref_counts, ref_missing: int, new_counts, new_missing: int, edges) -> dict:
    ref_rows = int(np.sum(ref_counts)) + ref_missing
    new_rows = int(np.sum(new_counts)) + new_missing
    ref_rate = ref_missing / ref_rows if ref_rows else 0.0
    new_rate = new_missing / new_rows if new_rows else 0.0
    value = psi(ref_counts, new_counts)
    labels = bin_labels(feature, edges)
    return {
        "feature": feature["name"],
        "label": feature.get("label", feature["name"]),
        "type": feature["type"],
        "psi": round(value, 6),
        "missing_rate_training": round(ref_rate, 6),
        "missing_rate_new": round(new_rate, 6),
        "missing_rate_change": round(new_rate - ref_rate, 6),
        "status": status(value, new_rate - ref_rate),
        "bins": [
            {"bin": label, "training": int(r), "new": int(n)}
            for label, r, n in zip(labels, np.asarray(ref_counts).tolist(), np.asarray(new_counts).tolist())
        ],
    }


def thresholds() -> dict:
    return {
        "psi": {"watch": PSI_WATCH, "act": PSI_ACT},
        "missing_rate_change": {"watch": MISSING_WATCH, "act": MISSING_ACT},
    }


def markdown(report: dict) -> str:
    """A readable summary: worst features first."""
    features = sorted(report["features"], key=lambda f: (-STATUS_ORDER[f["status"]], -f["psi"]))
    counts = {s: sum(f["status"] == s for f in features) for s in STATUS_ORDER}
    lines = [
        f"# Drift report: {report['input']}",
        "",
        f"Bundle `{report['bundle']}` (run {report['run_id']}), model `{report['model']}`: "
        f"{report['rows_new']:,} new rows against {report['rows_training']:,} training customers.",
        "",
        f"**{counts['act']} act, {counts['watch']} watch, {counts['stable']} stable.** "
        f"PSI ≥ {PSI_ACT} act, ≥ {PSI_WATCH} watch; "
        f"missing-rate change ≥ {MISSING_ACT:.0%} act, ≥ {MISSING_WATCH:.0%} watch.",
        "",
        "| status | feature | PSI | missing (training → new) |",
        "|---|---|---:|---|",
    ]
    for f in features:
        lines.append(
            f"| {f['status']} | {_cell(f['label'])} | {f['psi']:.3f} | "
            f"{f['missing_rate_training']:.1%} → {f['missing_rate_new']:.1%} |"
        )
    quality = report.get("input_quality", {})
    if quality:
        lines += [
            "",
            "## Input quality",
            "",
            "| feature | missing | invalid | unseen categories | example |",
            "|---|---:|---:|---:|---|",
        ]
        for name, q in quality.items():
            lines.append(
                f"| {_cell(name)} | {q['missing']:,} | {q['invalid']:,} | {q['unseen']:,} "
                f"| {_cell(q.get('example') or '')} |"
            )
    return "\n".join(lines) + "\n"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")[:80]


def write_report(report: dict, output: Path) -> tuple[Path, Path]:
    """`<output>.drift.json` and `<output>.drift.md` next to the scored output."""
    base = Path(output)
    json_path = base.with_name(base.name + ".drift.json")
    md_path = base.with_name(base.name + ".drift.md")
    json_path.write_text(json.dumps(report, indent=2, allow_nan=False, default=_plain), encoding="utf-8")
    md_path.write_text(markdown(report), encoding="utf-8")
    return json_path, md_path


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(type(value).__name__)

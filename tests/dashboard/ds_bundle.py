"""A copy of the test Telco bundle plus the tables the training side adds for the data-science pages
(PDP/ICE, permutation importance, calibration, score distribution), computed honestly here with the
JVM-free runtime and scikit-learn, then published through the real writer (checksummed, checked).

Import the fixtures into a test module to use them: `from tests.dashboard.ds_bundle import ds_root, ds_tables`.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_auc_score

from bundle import layout
from bundle.models import load_runtime
from bundle.reader import Bundle, open_bundle
from bundle.writer import stage_bundle
from dashboard.views.global_explanations.view import ICE_TABLE, PDP_TABLE, PERMUTATION_TABLE
from dashboard.views.validation import CALIBRATION_TABLE, SCORE_DISTRIBUTION_TABLE

ICE_CUSTOMERS = 60
GRID_POINTS = 8
REPEATS = 3


def _grid(feature: dict, column: pd.Series) -> list[Any]:
    if feature["type"] == "categorical":
        return list(feature["categories"])
    if feature["type"] == "binary":
        return [0, 1]
    values = pd.to_numeric(column, errors="coerce").dropna().to_numpy()
    return sorted(set(np.quantile(values, np.linspace(0.05, 0.95, GRID_POINTS)).round(2).tolist()))


def compute_pdp_ice(bundle: Bundle, features: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    customers = bundle.read_table(layout.CUSTOMERS).to_pandas()
    test = customers[customers[layout.SPLIT_COLUMN] == "test"]
    sample = test.iloc[np.linspace(0, len(test) - 1, ICE_CUSTOMERS, dtype=int)].reset_index(drop=True)
    spec = {f["name"]: f for f in bundle.manifest["features"]}
    pdp_rows, ice_frames = [], []
    for model in bundle.manifest["models"]:
        runtime = load_runtime(bundle, model)
        for name in features:
            for i, value in enumerate(_grid(spec[name], customers[name])):
                rows = sample.copy()
                rows[name] = value
                probability = runtime.probability(rows)
                numeric = float(value) if spec[name]["type"] != "categorical" else None
                pdp_rows.append(
                    {
                        "model": model,
                        "feature": name,
                        "grid_index": i,
                        "value": str(value),
                        "numeric_value": numeric,
                        "average_probability": float(probability.mean()),
                        "customers": len(rows),
                    }
                )
                ice_frames.append(
                    pd.DataFrame(
                        {
                            "model": model,
                            "feature": name,
                            "grid_index": i,
                            "customer_id": sample[layout.ID_COLUMN],
                            "probability": probability,
                        }
                    )
                )
    return pd.DataFrame(pdp_rows), pd.concat(ice_frames, ignore_index=True)


def compute_permutation(bundle: Bundle, seed: int = 0) -> pd.DataFrame:
    customers = bundle.read_table(layout.CUSTOMERS).to_pandas()
    test = customers[customers[layout.SPLIT_COLUMN] == "test"].reset_index(drop=True)
    labels = test[layout.LABEL_COLUMN].to_numpy()
    rng = np.random.default_rng(seed)
    rows = []
    for model in bundle.manifest["models"]:
        runtime = load_runtime(bundle, model)
        base = roc_auc_score(labels, runtime.probability(test))
        for feature in bundle.manifest["features"]:
            drops = []
            for _ in range(REPEATS):
                shuffled = test.copy()
                shuffled[feature["name"]] = rng.permutation(shuffled[feature["name"]].to_numpy())
                drops.append(base - roc_auc_score(labels, runtime.probability(shuffled)))
            rows.append(
                {
                    "model": model,
                    "feature": feature["name"],
                    "mean_drop": float(np.mean(drops)),
                    "std_drop": float(np.std(drops)),
                    "repeats": REPEATS,
                }
            )
    return pd.DataFrame(rows)


def compute_calibration_tables(bundle: Bundle) -> tuple[pd.DataFrame, pd.DataFrame]:
    customers = bundle.read_table(layout.CUSTOMERS, columns=[layout.LABEL_COLUMN, layout.SPLIT_COLUMN]).to_pandas()
    test = (customers[layout.SPLIT_COLUMN] == "test").to_numpy()
    labels = customers[layout.LABEL_COLUMN].to_numpy()[test]
    calibration, distribution = [], []
    for model in bundle.manifest["models"]:
        p = bundle.read_table(layout.predictions_path(model)).column(layout.PROBABILITY_COLUMN).to_numpy()[test]
        observed, predicted = calibration_curve(labels, p, n_bins=10, strategy="uniform")
        bins = np.minimum((predicted * 10).astype(int), 9)
        calibration.append(
            pd.DataFrame(
                {
                    "model": model,
                    "bin": bins,
                    "lower": bins / 10,
                    "upper": (bins + 1) / 10,
                    "mean_predicted": predicted,
                    "observed_rate": observed,
                    "count": np.bincount(np.searchsorted(np.linspace(0, 1, 11)[1:-1], p), minlength=10)[bins],
                }
            )
        )
        edges = np.linspace(0, 1, 21)
        for label in (0, 1):
            count, _ = np.histogram(p[labels == label], bins=edges)
            distribution.append(
                pd.DataFrame({"model": model, "label": label, "lower": edges[:-1], "upper": edges[1:], "count": count})
            )
    return pd.concat(calibration, ignore_index=True), pd.concat(distribution, ignore_index=True)


@pytest.fixture(scope="session")
def ds_tables(telco_bundle) -> dict[str, pd.DataFrame]:
    pdp, ice = compute_pdp_ice(telco_bundle, [f["name"] for f in telco_bundle.manifest["features"]])
    calibration, distribution = compute_calibration_tables(telco_bundle)
    return {
        PDP_TABLE: pdp,
        ICE_TABLE: ice,
        PERMUTATION_TABLE: compute_permutation(telco_bundle),
        CALIBRATION_TABLE: calibration,
        SCORE_DISTRIBUTION_TABLE: distribution,
    }


@pytest.fixture(scope="session")
def ds_root(telco_bundle, ds_tables, tmp_path_factory) -> Path:
    """An artifacts root whose `telco` bundle is the test bundle plus the data-science tables."""
    root = tmp_path_factory.mktemp("ds-artifacts")
    manifest = {k: v for k, v in telco_bundle.manifest.items() if k not in ("files", "schema_version")}
    with stage_bundle(root, "telco", telco_bundle.run_id + "-ds") as staged:
        for relpath in telco_bundle.manifest["files"]:
            shutil.copyfile(telco_bundle.path / relpath, staged.target(relpath))
        for relpath, table in ds_tables.items():
            staged.write_table(relpath, table)
        staged.publish(manifest)
    open_bundle(root / "telco")  # verifies every checksum
    return root

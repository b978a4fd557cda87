"""Stages evaluate → partial dependence → permutation importance: the bundle's evaluation tables.

Every probability here is a stored runtime score (evaluate) or a fresh `runtime` call
(partial dependence on Spark workers, permutation importance on the driver)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from analytics import risk
from bundle import layout
from runtime import build_kernel
from training import evaluate, importance, partial_dependence, publish
from training.datasets import DatasetSpec
from training.explain import probability_column
from training.models import FittedModel
from training.stages.prepare import Prepared
from training.stages.timings import Timings

log = logging.getLogger("training")

CHAMPION_METRIC = "roc_auc"
SHAP_METHODS = {
    "linear": "exact linear SHAP (independent features, training means as background)",
    "tree": "TreeSHAP, path-dependent (shap)",
    "xgboost": "TreeSHAP, path-dependent (xgboost pred_contribs)",
    "sklearn_hgb": "TreeSHAP, path-dependent (shap on the scikit-learn model)",
}


@dataclass
class Assessment:
    model_entries: dict[str, dict]
    champion: str
    rows: int
    label_rate: float
    test_rows: int
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def _base_value(model: FittedModel, n_slots: int) -> float:
    """The log-odds every explanation of `model` starts from (the same for every row)."""
    _, base = build_kernel(model.runtime, model.portable).contributions(np.zeros((1, n_slots)))
    return float(base[0])


def model_entry(
    model: FittedModel, y_test: np.ndarray, probability: np.ndarray, threshold: float, n_slots: int
) -> dict:
    return {
        "family": model.family,
        "display_name": model.display_name,
        "params": model.params,
        "metrics": evaluate.evaluate(y_test, probability, threshold),
        "threshold": threshold,
        "training_seconds": round(model.training_seconds, 3),
        "shap": {
            "base_value": _base_value(model, n_slots),
            "output": "log_odds",
            "method": SHAP_METHODS.get(model.runtime, model.runtime),
        },
        # Replaced by the calibration stage; until then the identity map (probability = sigmoid(margin)).
        "calibration": {"method": "none", "slope": 1.0, "intercept": 0.0, "rows": 0, "fitted_on": "not calibrated"},
        **model.extra,
    }


def evaluate_models(
    scored: list[Path], fitted: list[FittedModel], slots: list[dict], spec: DatasetSpec, threshold: float,
    background_rows: int, seed: int,
) -> Assessment:  # fmt: skip
    # Driver memory: label, split and one probability per model for every customer
    # (≈ 10 + 8 × models bytes per customer; 42 MB at 1M customers with four models).
    outcome = publish.read_columns(
        scored, [layout.LABEL_COLUMN, layout.SPLIT_COLUMN, *(probability_column(m.name) for m in fitted)]
    )
    test = pc.equal(outcome.column(layout.SPLIT_COLUMN), "test").to_numpy(zero_copy_only=False)
    labels = outcome.column(layout.LABEL_COLUMN).to_numpy()
    entries, curves, calibration, scores = {}, [], [], []
    for model in fitted:
        every = outcome.column(probability_column(model.name)).to_numpy()
        probability = every[test]
        entries[model.name] = model_entry(model, labels[test], probability, threshold, len(slots))
        entries[model.name]["risk_bands"] = risk.cutoffs_from_scores(every[~test])
        curves.append(evaluate.curves(model.name, labels[test], probability))
        calibration.append(evaluate.calibration(model.name, labels[test], probability))
        scores.append(evaluate.score_distribution(model.name, labels[test], probability))
        log.info("%s: test ROC AUC %.4f", model.name, entries[model.name]["metrics"]["roc_auc"])
    champion = max(entries, key=lambda m: entries[m]["metrics"][CHAMPION_METRIC])
    log.info("champion: %s", champion)
    tables = {
        layout.CURVES: pd.concat(curves, ignore_index=True),
        layout.CALIBRATION: pd.concat(calibration, ignore_index=True),
        layout.SCORE_DISTRIBUTION: pd.concat(scores, ignore_index=True),
    }
    train_split = pc.equal(outcome.column(layout.SPLIT_COLUMN), "train").to_numpy(zero_copy_only=False)
    tables[layout.BACKGROUND] = publish.background_sample(
        scored, train_split, spec.feature_names, background_rows, seed
    )
    return Assessment(entries, champion, len(labels), float(labels.mean()), int(test.sum()), tables)


def explain_globally(
    prepared: Prepared, spec: DatasetSpec, fitted: list[FittedModel], assessment: Assessment, seed: int,
    timings: Timings,
) -> None:  # fmt: skip
    """Partial dependence + ICE (Spark workers) and permutation importance (driver) into `assessment.tables`."""
    tables = assessment.tables
    with timings.stage("partial dependence"):
        grid_rows = partial_dependence.grid_rows(prepared.table, spec.feature_names, assessment.rows, seed)
        tables[layout.PDP], tables[layout.ICE] = partial_dependence.compute(
            prepared.table, grid_rows, spec, prepared.slots, fitted, seed
        )
    with timings.stage("permutation importance"):
        test_rows = importance.test_sample(prepared.table, spec.feature_names, assessment.test_rows, seed)
        tables[layout.PERMUTATION_IMPORTANCE] = importance.permutation_importance(
            {m.name: build_kernel(m.runtime, m.portable) for m in fitted},
            test_rows[spec.feature_names],
            test_rows[layout.LABEL_COLUMN].to_numpy(),
            prepared.slots,
            spec.feature_names,
            seed,
        )

"""Stages evaluate → partial dependence → permutation importance: the bundle's evaluation tables.

Every probability here is a stored runtime score (evaluate) or a fresh `runtime` call
(partial dependence on Spark workers, permutation importance on the driver), calibrated by
each model's Platt map. The champion is chosen by `training.champion.choose_champion`."""

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
from training.champion import CHAMPION_METRIC, choose_champion
from training.datasets import DatasetSpec
from training.explain import margin_column, probability_column
from training.models import FittedModel
from training.stages.prepare import Prepared
from training.stages.timings import Timings

log = logging.getLogger("training")

__all__ = ["CHAMPION_METRIC", "Assessment", "evaluate_models", "explain_globally", "model_entry"]

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
    champion_rule: str = ""  # why the champion won, in one sentence


def _base_value(model: FittedModel, n_slots: int) -> float:
    """The log-odds every explanation of `model` starts from (the same for every row)."""
    _, base = build_kernel(model.runtime, model.portable).contributions(np.zeros((1, n_slots)))
    return float(base[0])


def model_entry(
    model: FittedModel,
    y_test: np.ndarray,
    probability: np.ndarray,
    threshold: float,
    n_slots: int,
    margin: np.ndarray | None = None,
) -> dict:
    """The manifest's `models.<m>` entry: `metrics` of the calibrated test probabilities; the calibration
    record with `before`, the same test split's log loss, Brier and ECE of sigmoid(margin)."""
    calibration = dict(model.calibration)
    if margin is not None:
        calibration["before"] = evaluate.uncalibrated_metrics(y_test, margin)
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
        "calibration": calibration,
        **model.extra,
    }


def evaluate_models(
    scored: list[Path], fitted: list[FittedModel], slots: list[dict], spec: DatasetSpec, threshold: float,
    background_rows: int, seed: int,
) -> Assessment:  # fmt: skip
    # Driver memory: label, split, one probability and one margin per model for every customer
    # (≈ 10 + 16 × models bytes per customer; 74 MB at 1M customers with four models).
    columns = [probability_column(m.name) for m in fitted] + [margin_column(m.name) for m in fitted]
    outcome = publish.read_columns(scored, [layout.LABEL_COLUMN, layout.SPLIT_COLUMN, *columns])
    test = pc.equal(outcome.column(layout.SPLIT_COLUMN), "test").to_numpy(zero_copy_only=False)
    labels = outcome.column(layout.LABEL_COLUMN).to_numpy()
    entries, curves, calibration, scores = {}, [], [], []
    for model in fitted:
        every = outcome.column(probability_column(model.name)).to_numpy()
        probability = every[test]
        margin = outcome.column(margin_column(model.name)).to_numpy()[test]
        entries[model.name] = model_entry(model, labels[test], probability, threshold, len(slots), margin)
        entries[model.name]["risk_bands"] = risk.cutoffs_from_scores(every[~test])
        curves.append(evaluate.curves(model.name, labels[test], probability))
        calibration.append(evaluate.calibration(model.name, labels[test], probability))
        scores.append(evaluate.score_distribution(model.name, labels[test], probability))
        after, before = entries[model.name]["metrics"], entries[model.name]["calibration"]["before"]
        log.info(
            "%s: test ROC AUC %.4f; log loss %.4f → %.4f, ECE %.4f → %.4f calibrated",
            model.name, after["roc_auc"], before["log_loss"], after["log_loss"], before["ece"], after["ece"],
        )  # fmt: skip
    champion, rule = choose_champion(
        {m: e["metrics"] for m, e in entries.items()}, {m: e["display_name"] for m, e in entries.items()}
    )
    log.info("champion: %s (%s)", champion, rule)
    tables = {
        layout.CURVES: pd.concat(curves, ignore_index=True),
        layout.CALIBRATION: pd.concat(calibration, ignore_index=True),
        layout.SCORE_DISTRIBUTION: pd.concat(scores, ignore_index=True),
    }
    train_split = pc.equal(outcome.column(layout.SPLIT_COLUMN), "train").to_numpy(zero_copy_only=False)
    tables[layout.BACKGROUND] = publish.background_sample(
        scored, train_split, spec.feature_names, background_rows, seed
    )
    return Assessment(entries, champion, len(labels), float(labels.mean()), int(test.sum()), tables, rule)


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

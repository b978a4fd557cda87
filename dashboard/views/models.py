"""Models page data: one row of test metrics per model, why the champion won (the Models and Validation
pages), and which model a page shows (every page's picker)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from bundle.manifest import model_names

# Manifest metric key -> column title, in the order the Models page shows them.
METRIC_COLUMNS: dict[str, str] = {
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "log_loss": "Log loss",
    "brier": "Brier",
    "ece": "ECE",
    "accuracy": "Accuracy",
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
}
# Metrics where a lower value is better (everything else: higher is better).
LOWER_IS_BETTER = {"log_loss", "brier", "ece"}
TRAINING_TIME = "Training time (s)"
CHAMPION_MARK = "★ champion"


class UnknownModel(ValueError):
    """A `?model=` that names no model of the bundle; the message is meant for the user."""


def build_metrics_table(manifest: dict) -> pd.DataFrame:
    """One row per model, champion first: display name, champion mark, test metrics, training time."""
    rows = []
    champion = manifest["champion"]
    for model in model_names(manifest):
        entry = manifest["models"][model]
        metrics = entry.get("metrics") or {}
        row: dict[str, object] = {
            "Model": entry.get("display_name", model),
            "Champion": CHAMPION_MARK if model == champion else "",
        }
        for key, title in METRIC_COLUMNS.items():
            row[title] = _number(metrics.get(key))
        row[TRAINING_TIME] = _number(entry.get("training_seconds"))
        rows.append(row)
    return pd.DataFrame(rows, columns=["Model", "Champion", *METRIC_COLUMNS.values(), TRAINING_TIME])


def model_display_names(manifest: dict) -> dict[str, str]:
    return {m: manifest["models"][m].get("display_name", m) for m in model_names(manifest)}


def _number(value: object) -> float:
    # A metric a training run didn't record shows as an empty cell rather than failing the page.
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def model_choices(manifest: dict) -> dict[str, str]:
    """{model key: picker label}, champion first and marked."""
    champion = manifest["champion"]
    return {
        m: manifest["models"][m].get("display_name", m) + (f" {CHAMPION_MARK}" if m == champion else "")
        for m in model_names(manifest)
    }


def resolve_model(manifest: dict, requested: object) -> str:
    """The model a `?model=` names, the champion when none; `UnknownModel` otherwise."""
    if requested in (None, ""):
        return manifest["champion"]
    if requested not in manifest["models"]:
        shown = str(requested)[:40]
        raise UnknownModel(
            f"This bundle has no model '{shown}'; showing its models: {', '.join(model_names(manifest))}."
        )
    return str(requested)


def champion_reason(manifest: Mapping) -> str:
    """One sentence: why the champion won. The training run's own rule when it wrote one
    (`champion_rule`: best ROC AUC among models whose calibrated log loss is near the best);
    for older bundles, the champion metric and the margin over the runner-up."""
    rule = manifest.get("champion_rule")
    if isinstance(rule, str) and rule.strip():
        return rule
    metric = manifest["champion_metric"]
    title = METRIC_COLUMNS.get(metric, metric.replace("_", " "))
    champion = manifest["champion"]
    names = {m: manifest["models"][m].get("display_name", m) for m in manifest["models"]}
    values = {
        m: float(v)
        for m in manifest["models"]
        if isinstance(v := (manifest["models"][m].get("metrics") or {}).get(metric), (int, float))
    }
    if champion not in values:
        return f"{names[champion]} is the champion, picked by {title} (its value was not recorded)."
    others = {m: v for m, v in values.items() if m != champion}
    if not others:
        return f"{names[champion]} is the only model: {title} {values[champion]:.3f}."
    lower = metric in LOWER_IS_BETTER
    runner_up = (min if lower else max)(others, key=lambda m: others[m])
    margin = abs(values[champion] - others[runner_up])
    return (
        f"{names[champion]} is the champion: best {title} on the test split "
        f"({values[champion]:.3f}), {margin:.3f} {'below' if lower else 'above'} the runner-up "
        f"{names[runner_up]} ({others[runner_up]:.3f})."
    )

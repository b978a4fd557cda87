"""Every invariant of bundle/checks.py and of the reader's open-time checks, each broken on purpose.

Checksums are updated after each change, so only the content checks stand
between the broken bundle and a viewer.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from bundle import layout
from bundle.checks import bundle_problems
from bundle.reader import BundleError, open_bundle
from bundle.writer import stage_bundle
from tests.bundle.corrupt import rewrite
from tests.bundle.tiny import write_tiny_bundle

PRED = layout.predictions_path("lin")
SHAP = layout.shap_path("lin")


def _reverse(frame):
    return frame.iloc[::-1].reset_index(drop=True)


def _shift(*columns: str):
    """Move the named columns down one row (the last wraps to the top), IDs left in place."""
    return lambda frame: frame.assign(**{c: np.roll(frame[c].to_numpy(), 1) for c in columns})


def _drop_feature(name: str):
    def change(manifest: dict) -> None:
        manifest["features"] = [f for f in manifest["features"] if f["name"] != name]
        manifest["encoding"] = [e for e in manifest["encoding"] if e["feature"] != name]

    return change


# (what is broken, table changes, manifest change, the message a user gets)
OPEN_TIME = [
    (
        "feature the tables lack",
        {},
        lambda m: m["features"].append({"name": "ghost", "type": "numeric", "label": "Ghost"}),
        "customers.parquet lacks the column(s) ghost",
    ),
    (
        "empty feature list",
        {},
        lambda m: m.update(features=[], encoding=[]),
        "'features' is empty; 'encoding' is empty",
    ),
    (
        "NaN base value",
        {},
        lambda m: m["models"]["lin"]["shap"].update(base_value=float("nan")),
        "'models.lin.shap.base_value' should be a finite number",
    ),
    (
        "infinite threshold",
        {},
        lambda m: m["models"]["lin"].update(threshold=float("inf")),
        "'models.lin.threshold' should be a finite number",
    ),
    (
        "threshold above 1",
        {},
        lambda m: m["models"]["lin"].update(threshold=1.5),
        "'models.lin.threshold' should be at most 1",
    ),
    (
        "NaN fill value",
        {},
        lambda m: m["encoding"][0].update(fill=float("nan")),
        "'encoding[0].fill' should be a finite number",
    ),
    (
        "id_type string, IDs are numbers",
        {},
        lambda m: m["dataset"].update(id_type="string"),
        "wrong type: customer_id (int64)",
    ),
    ("zero rows claimed", {}, lambda m: m["dataset"].update(rows=0), "'dataset.rows' should be at least 1"),
    ("rows disagree with the manifest", {}, lambda m: m["dataset"].update(rows=4), "has 3 rows, the manifest says 4"),
    ("prediction rows reordered", {PRED: _reverse}, None, f"{PRED} does not list the same customers in the same order"),
    ("SHAP rows reordered", {SHAP: _reverse}, None, f"{SHAP} does not list the same customers in the same order"),
    (
        "a customer dropped from predictions",
        {PRED: lambda f: f.iloc[:2]},
        None,
        f"{PRED} does not list the same customers",
    ),
    (
        "customers unsorted",
        {layout.CUSTOMERS: _reverse, PRED: _reverse, SHAP: _reverse},
        None,
        "is not sorted by unique customer_id",
    ),
    (
        "duplicate customer",
        {layout.CUSTOMERS: lambda f: f.assign(customer_id=[3, 3, 11])},
        None,
        "is not sorted by unique customer_id",
    ),
    (
        "no customers",
        {layout.CUSTOMERS: lambda f: f.iloc[:0], PRED: lambda f: f.iloc[:0], SHAP: lambda f: f.iloc[:0]},
        None,
        "customers.parquet has no customers",
    ),
    (
        "SHAP column missing",
        {SHAP: lambda f: f.drop(columns=["contract"])},
        None,
        f"{SHAP} lacks the column(s) contract",
    ),
    (
        "SHAP column as text",
        {SHAP: lambda f: f.assign(tenure=f["tenure"].astype(str))},
        None,
        f"{SHAP} has columns of the wrong type: tenure",
    ),
    (
        "probability column missing",
        {PRED: lambda f: f.drop(columns=["probability"])},
        None,
        f"{PRED} lacks the column(s) probability",
    ),
    (
        "numeric feature stored as text",
        {layout.CUSTOMERS: lambda f: f.assign(tenure=f["tenure"].astype(str))},
        None,
        "customers.parquet has columns of the wrong type: tenure",
    ),
    (
        "label column missing",
        {layout.CUSTOMERS: lambda f: f.drop(columns=["label"])},
        None,
        "customers.parquet lacks the column(s) label",
    ),
    (
        "curves lack a column",
        {layout.CURVES: lambda f: f.drop(columns=["threshold"])},
        None,
        "evaluation/curves.parquet lacks the column(s) threshold",
    ),
    (
        "background lacks a feature",
        {layout.BACKGROUND: lambda f: f.drop(columns=["contract"])},
        None,
        "background.parquet lacks the column(s) contract",
    ),
    ("a table not listed", {}, lambda m: m["files"].pop(SHAP), f"the manifest does not list {SHAP}"),
    # Tampering the checksums cannot catch: the stored scores are recomputed for a sample at open.
    (
        "probability and margin shifted one row, IDs kept",
        {PRED: _shift("probability", "margin")},
        None,
        "its stored probability of customer 7 is 7.9% but the model computes 73.1%",
    ),
    ("margin alone shifted one row", {PRED: _shift("margin")}, None, "its stored margin of customer"),
    (
        "a feature removed from features and encoding",
        {},
        _drop_feature("contract"),
        "model 'lin' cannot run: the model file takes 3 input columns but the manifest's features and encoding give 1",
    ),
]


@pytest.mark.parametrize(("case", "tables", "change", "message"), OPEN_TIME, ids=[c[0] for c in OPEN_TIME])
def test_open_refuses_a_manifest_that_disagrees_with_its_tables(tmp_path, case, tables, change, message):
    bundle = write_tiny_bundle(tmp_path)
    rewrite(bundle.path, tables, change)
    with pytest.raises(BundleError) as refused:
        open_bundle(tmp_path / "tiny")
    text = str(refused.value)
    assert message in text
    assert text.startswith("Bundle 'tiny' ") and text.count("'tiny'") == 1
    assert str(tmp_path) not in text


def test_unreadable_parquet_with_a_matching_checksum_is_refused_without_a_path(tmp_path):
    bundle = write_tiny_bundle(tmp_path)
    rewrite(bundle.path, raw={SHAP: b"PAR1 not really parquet PAR1"})
    with pytest.raises(BundleError, match=f"^Bundle 'tiny' is unreadable: {SHAP} is not a valid Parquet table.$"):
        open_bundle(tmp_path / "tiny")


def test_string_ids_must_be_stored_as_text(tmp_path):
    bundle = write_tiny_bundle(tmp_path, ids=["A-1", "b.2", "c/3"])
    assert open_bundle(tmp_path / "tiny").manifest["dataset"]["id_type"] == "string"
    rewrite(bundle.path, manifest_change=lambda m: m["dataset"].update(id_type="int"))
    with pytest.raises(BundleError, match="wrong type: customer_id"):
        open_bundle(tmp_path / "tiny")


def _republish(source_dir, root, tables=None, change=None):
    """Publish the content of `source_dir` after the given changes, as a faulty training run would."""
    scratch = root.parent / "scratch"
    shutil.copytree(source_dir, scratch)
    rewrite(scratch, tables, change)
    manifest = json.loads((scratch / layout.MANIFEST).read_text())
    with stage_bundle(root, "tiny", "faulty") as staged:
        for relpath in manifest["files"]:
            shutil.copyfile(scratch / relpath, staged.target(relpath))
        return staged.publish({k: v for k, v in manifest.items() if k != "files"})


# Invariants only a full read can check; `bundle_problems` runs them before every publish.
CONTENT = [
    (
        "label outside 0/1",
        {layout.CUSTOMERS: lambda f: f.assign(label=[1, 2, 0])},
        None,
        "label holds values other than 0 and 1",
    ),
    (
        "unknown split",
        {layout.CUSTOMERS: lambda f: f.assign(split=["train", "valid", "test"])},
        None,
        "unknown split values ['valid']",
    ),
    (
        "NaN margin",
        {PRED: lambda f: f.assign(margin=[np.nan, 0.0, 0.0])},
        None,
        "non-finite margins or probabilities outside [0, 1]",
    ),
    (
        "probability above 1",
        {PRED: lambda f: f.assign(probability=[1.5, 0.5, 0.5])},
        None,
        "non-finite margins or probabilities outside [0, 1]",
    ),
    (
        "probability not sigmoid(margin)",
        {PRED: lambda f: f.assign(probability=f["probability"] * 0.9)},
        None,
        "probabilities disagree with its calibration of the margin",
    ),
    (
        "SHAP credited elsewhere does not add up",
        {SHAP: lambda f: f.assign(tenure=f["tenure"] + 0.01)},
        None,
        "base value + sum of SHAP misses the log-odds",
    ),
    (
        "base value shifted",
        {},
        lambda m: m["models"]["lin"]["shap"].update(base_value=-0.9),
        "misses the log-odds by 1.00e-01",
    ),
    (
        "model file not in bundle",
        {},
        lambda m: m["models"]["lin"].update(files={"weights": "models/lin/w.json"}),
        "its weights file models/lin/w.json is not in the bundle",
    ),
    ("curves lack a model", {layout.CURVES: lambda f: f.assign(model=["other"])}, None, "lacks curves for some models"),
    ("unknown curve kind", {layout.CURVES: lambda f: f.assign(curve=["lift"])}, None, "curve kinds other than roc, pr"),
    (
        "background holds a test customer",
        {layout.BACKGROUND: lambda f: f.assign(customer_id=[7, 11])},
        None,
        "must hold training customers only",
    ),
    (
        "background holds an unknown customer",
        {layout.BACKGROUND: lambda f: f.assign(customer_id=[3, 99])},
        None,
        "must hold training customers only",
    ),
]


@pytest.mark.parametrize(("case", "tables", "change", "message"), CONTENT, ids=[c[0] for c in CONTENT])
def test_publish_refuses_content_that_breaks_an_invariant(tmp_path, case, tables, change, message):
    root = tmp_path / "artifacts"
    good = write_tiny_bundle(root, run_id="good")
    with pytest.raises(BundleError, match="^Refusing to publish bundle 'tiny': .*" + _escape(message)):
        _republish(good.path, root, tables, change)
    assert open_bundle(root / "tiny").run_id == "good"
    assert bundle_problems(good) == []


def _escape(text: str) -> str:
    import re

    return re.escape(text)

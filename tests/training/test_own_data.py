"""Your own table end to end: awkward columns, validation messages, hashed IDs, config runs,
the Telco run from a CSV matching the built-in run."""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bundle import ids, layout
from bundle.manifest import manifest_problems
from bundle.reader import open_bundle
from tests.conftest import FAST_MODELS, REPO, SAMPLE_ROWS
from training.__main__ import main
from training.datasets import DatasetSpec, FeatureSpec
from training.datasets.config import parse_config
from training.datasets.infer import build_spec, infer, read_table
from training.pipeline import RunConfig, run
from training.validate import ValidationError, validate

KEY = "test-key-0123456789abcdef"
ROWS = 240


def awkward_frame(rows: int = ROWS) -> pd.DataFrame:
    """IDs with spaces, dotted/non-ASCII/colliding names, numeric strings, Y/N, empty and constant columns."""
    rng = np.random.default_rng(5)
    charges = rng.uniform(20, 120, rows).round(2)
    plan = rng.choice(["basic", "plus", "pro"], rows)
    senior = rng.choice(["Y", "N"], rows, p=[0.3, 0.7])
    logit = -2 + 0.03 * (charges - 70) + (plan == "basic") * 1.2 + (senior == "Y") * 0.8
    churned = np.where(rng.uniform(size=rows) < 1 / (1 + np.exp(-logit)), "Y", "N")
    charges_text = charges.astype(str).astype(object)
    charges_text[::37] = "NA"
    return pd.DataFrame(
        {
            "Customer ID": [f"C {i:04d}" for i in range(rows)],
            "Churned?": churned,
            "monthly.charges": charges_text,
            "Plan type": plan,
            "Päid (€)": rng.normal(50, 10, rows).round(1).astype(str),
            "features": rng.integers(0, 9, rows).astype(str),
            "Is Senior": senior,
            "empty": [""] * rows,
            "constant": ["x"] * rows,
            "ref": [f"R-{i * 7919 % 10007}" for i in range(rows)],
        }
    )


@pytest.fixture(scope="module")
def awkward_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("own") / "awkward customers.csv"
    awkward_frame().to_csv(path, index=False)
    return path


def awkward_config(csv, **customers) -> dict:
    return {
        "name": "awkward",
        "customers": {
            "path": str(csv),
            "id": "Customer ID",
            "label": "Churned?",
            "positive": "Y",
            "csv": {"null_values": ["", "NA"]},
            **customers,
        },
        "features": {
            "columns": {
                "Plan type": {
                    "label": "Plan",
                    "categories": {"pro": "Professional"},
                    "actionable": True,
                    "reasons": [{"values": ["basic"], "phrase": "On the basic plan"}],
                },
                # Binary from text: the column's own Y/N read as 1/0.
                "Is Senior": {"reasons": [{"values": ["Y"], "phrase": "Senior", "code": "senior"}]},
            }
        },
        "models": {"use": ["logistic"], "params": {"logistic": {"maxIter": 50}}},
        "training": {"test_fraction": 0.25},
        "audit": {"columns": ["Is Senior", "ref"]},  # "ref" is left out by inference: kept for audit only
    }


def test_inference_on_an_awkward_table(spark, awkward_csv):
    config = parse_config(awkward_config(awkward_csv), awkward_csv.parent)
    assert config.customers is not None
    table = read_table(spark, config.customers)
    decisions = {d.column: d for d in infer(table, {"Customer ID", "Churned?"}, 50)}
    assert {c: d.type for c, d in decisions.items()} == {
        "monthly.charges": "numeric",
        "Plan type": "categorical",
        "Päid (€)": "numeric",
        "features": "numeric",
        "Is Senior": "binary",
        "empty": None,
        "constant": None,
        "ref": None,
    }
    assert decisions["monthly.charges"].reason == "text that is always a number"
    assert (decisions["Is Senior"].positive, decisions["Is Senior"].negative) == ("Y", "N")
    assert decisions["empty"].reason == "left out: every value is empty"
    assert decisions["constant"].reason == "left out: constant (every value is 'x')"
    assert decisions["ref"].reason == "left out: looks like an identifier (nearly every row differs)"

    spec, _ = build_spec(spark, config)
    names = {f.source: f.name for f in spec.features}
    # Names Spark or the bundle would misread get safe ones; the original stays as source and label.
    assert names == {
        "monthly.charges": "monthly_charges",
        "Plan type": "plan_type",
        "Päid (€)": "paid_eur",
        "features": "features_feature",
        "Is Senior": "is_senior",
    }
    plan = next(f for f in spec.features if f.source == "Plan type")
    assert (plan.label, plan.category_labels, plan.actionable) == ("Plan", (("pro", "Professional"),), True)


def test_ids_with_spaces_are_refused_unless_hashed(spark, awkward_csv):
    spec, _ = build_spec(spark, parse_config(awkward_config(awkward_csv), awkward_csv.parent))
    with pytest.raises(ValidationError) as caught:
        validate(spec.load(spark), spec)
    assert caught.value.problems == [
        f"column 'Customer ID': {ROWS} customer IDs are longer than 64 characters or use characters other than "
        "letters, digits and . - _ : @ / +, e.g. 'C 0000' (they could not be typed or carried in a URL; "
        "hashing the IDs avoids this)"
    ]


def small_spec(frame: pd.DataFrame, features: tuple[FeatureSpec, ...], spark, **extra) -> tuple[DatasetSpec, DataFrame]:
    table = spark.createDataFrame(frame)
    spec = DatasetSpec(
        name="t",
        source="test",
        id_column="id",
        label_column="y",
        positive_label="1",
        features=features,
        load=lambda _s: table,
        **extra,
    )
    return spec, table


def test_numeric_trouble_is_reported_with_counts_and_examples(spark):
    n = 30
    frame = pd.DataFrame(
        {
            "id": range(n),
            "y": [i % 2 for i in range(n)],
            "amount": [float("inf") if i < 3 else float(i) for i in range(n)],
            "blank": [None] * n,
            "flat": [7.0] * n,
            "city.name": [f"city{i}" for i in range(n)],
            "ok": [float(i % 5) for i in range(n)],
        }
    ).astype({"blank": "float64"})
    features = (
        FeatureSpec("amount", "numeric", "Amount"),
        FeatureSpec("blank", "numeric", "Blank"),
        FeatureSpec("flat", "numeric", "Flat"),
        FeatureSpec("city_name", "categorical", "City", source="city.name"),
        FeatureSpec("ok", "numeric", "OK"),
    )
    spec, table = small_spec(frame, features, spark, max_categories=10)
    with pytest.raises(ValidationError) as caught:
        validate(table, spec)
    assert caught.value.problems == [
        "column 'amount': 3 rows are infinite "
        "(replace them with a number, or leave them empty to be imputed), e.g. 'Infinity'",
        f"column 'blank': all {n} rows are empty; a feature needs values (ignore the column or fill it)",
        f"column 'flat': every non-empty row ({n}) has the same value '7.0'; "
        "a constant cannot explain churn (ignore the column)",
        "column 'city.name': about 30 distinct categories, more than the cap of 10 (e.g. 'city0'); group rare values, "
        "declare it numeric, ignore it, or raise features.max_categories",
    ]
    # The same table, trouble removed, validates and keeps the dotted column under its safe name.
    clean = table.drop("blank", "flat").withColumn("amount", F.col("ok"))
    spec2 = DatasetSpec(
        name="t",
        source="test",
        id_column="id",
        label_column="y",
        positive_label="1",
        features=(features[0], features[3], features[4]),
        load=lambda _s: clean,
        max_categories=50,
    )
    assert validate(clean, spec2).columns == ["customer_id", "label", "amount", "city_name", "ok"]


def test_feature_names_the_bundle_uses_itself_are_renamed():
    from bundle.feature_types import is_safe_name, safe_name

    taken: set[str] = set()
    names = []
    for source in (
        "label",
        "split",
        "customer_id",
        "probability",
        "x__onehot",
        "_slot3",
        "Größe",
        "größe",
        "a.b",
        "a b",
    ):
        names.append(safe_name(source, taken))
        taken.add(names[-1])
    assert all(is_safe_name(n) for n in names) and len(set(names)) == len(names)
    assert names == [
        "label_feature",
        "split_feature",
        "customer_id_feature",
        "probability_feature",
        "x_onehot",
        "slot3",
        "grosse",
        "grosse_2",
        "a_b",
        "a_b_2",
    ]


@pytest.fixture(scope="module")
def hashed_root(spark, awkward_csv, tmp_path_factory):
    """A bundle trained through the config path with hashed IDs (logistic only, for speed)."""
    root = tmp_path_factory.mktemp("hashed")
    config = parse_config(awkward_config(awkward_csv, hash_ids=True), awkward_csv.parent)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ids.KEY_ENV, KEY)
        spec, _ = build_spec(spark, config)
        fixed = RunConfig(models=config.models, model_params=config.model_params, test_fraction=config.test_fraction)
        run(spark, spec, replace(fixed, artifacts=root))
    return root


def test_a_config_run_publishes_hashed_ids_and_original_names(hashed_root):
    bundle = open_bundle(hashed_root / "awkward")
    manifest = bundle.manifest
    stored = pq.read_table(bundle.file(layout.CUSTOMERS)).column(layout.ID_COLUMN).to_pylist()
    assert len(stored) == ROWS and all(ids.looks_hashed(i) for i in stored)
    assert ids.hash_id("C 0007", KEY.encode()) in stored
    assert manifest["dataset"]["id_hashing"]["algorithm"] == "HMAC-SHA256"
    text = "".join(p.read_text(errors="ignore") for p in bundle.path.rglob("*.json"))
    assert KEY not in text and "C 0007" not in text
    features = {f["name"]: f for f in manifest["features"]}
    assert features["monthly_charges"]["source"] == "monthly.charges"
    assert features["is_senior"]["values"] == {"1": "Y", "0": "N"}
    assert features["plan_type"]["category_labels"] == {"pro": "Professional"}
    assert features["plan_type"]["actionable"] is True
    # Reason codes: the config's where it gives them, generated from the training split elsewhere.
    assert manifest_problems(manifest) == []
    plan, senior = features["plan_type"], features["is_senior"]
    assert plan["reasons"] == [{"code": "plan_type:basic", "phrase": "On the basic plan", "values": ["basic"]}]
    assert senior["reasons"] == [{"code": "senior", "phrase": "Senior", "values": ["1"]}]  # Y → 1
    sources = {f["name"]: f["reasons_source"] for f in manifest["features"]}
    assert sources == {**dict.fromkeys(sources, "generated"), "plan_type": "config", "is_senior": "config"}
    charges = features["monthly_charges"]
    ranges = [r for r in charges["reasons"] if not r.get("missing")]
    assert len(ranges) == 4 and ranges[0]["phrase"].startswith("monthly.charges under ")
    missing = {"code": "monthly_charges:missing", "phrase": "monthly.charges missing", "missing": True}
    assert charges["reasons"][-1] == missing  # "NA" every 37th row: the column can be missing
    customers = pq.read_table(bundle.file(layout.CUSTOMERS)).to_pandas()
    train = customers.loc[customers[layout.SPLIT_COLUMN] == "train", "monthly_charges"].dropna()
    edges = [r["upper"] for r in ranges[:-1]]
    assert np.allclose(edges, np.quantile(train, [0.25, 0.5, 0.75]), atol=1.0)  # training quartiles, rounded to 1
    assert (
        manifest["models"]["logistic"]["risk_bands"]["high"] >= manifest["models"]["logistic"]["risk_bands"]["medium"]
    )
    assert [(c["name"], c["feature"]) for c in manifest["audit"]["columns"]] == [("is_senior", True), ("ref", False)]


def test_cli_config_mistakes_and_bad_tables_publish_nothing(hashed_root, awkward_csv, tmp_path, capsys):
    before = (hashed_root / "awkward").resolve()
    bad = tmp_path / "bad.toml"
    bad.write_text(f'name = "awkward"\n[customers]\npath = "{awkward_csv}"\nlabel = "Churned?"\n')
    assert main(["run", "--config", str(bad), "--artifacts", str(hashed_root)]) == 2
    err = capsys.readouterr().err
    assert "has 1 mistake(s)" in err and "customers.positive: required with customers.label" in err
    assert "Traceback" not in err

    unhashed = tmp_path / "unhashed.toml"
    unhashed.write_text(
        f'name = "awkward"\n[customers]\npath = "{awkward_csv}"\nid = "Customer ID"\n'
        'label = "Churned?"\npositive = "Y"\n'
        '[customers.csv]\nnull_values = ["", "NA"]\n[models]\nuse = ["logistic"]\n'
    )
    assert main(["run", "--config", str(unhashed), "--artifacts", str(hashed_root)]) == 2
    err = capsys.readouterr().err
    assert "Input rejected" in err and "e.g. 'C 0000'" in err and "Traceback" not in err
    assert (hashed_root / "awkward").resolve() == before  # the live bundle is untouched


def test_init_config_writes_a_config_that_parses(spark, awkward_csv, tmp_path):
    target = tmp_path / "starter.toml"
    assert main(["init-config", str(target), "--customers", str(awkward_csv)]) == 0
    text = target.read_text()
    data = tomllib.loads(text)
    assert (data["customers"]["id"], data["customers"]["label"], data["customers"]["positive"]) == (
        "Customer ID",
        "Churned?",
        "Y",
    )
    assert "Churned?" not in data["features"]["columns"] and "Customer ID" not in data["features"]["columns"]
    assert data["features"]["columns"]["empty"] == {"ignore": True}
    assert data["features"]["columns"]["Päid (€)"]["label"] == "Päid (€)"
    assert "looks like an identifier" in text
    assert main(["init-config", str(target), "--customers", str(awkward_csv)]) == 2  # no silent overwrite


def test_telco_from_csv_matches_the_built_in_run(spark, telco_bundle, tmp_path):
    from training.datasets.telco import export_csv

    csv = tmp_path / "telco.csv"
    export_csv(csv)
    data = tomllib.loads((REPO / "examples" / "telco.toml").read_text())
    data["customers"]["path"] = str(csv)
    data["models"]["params"] = FAST_MODELS
    config = parse_config(data, tmp_path)
    spec, _ = build_spec(spark, config)
    assert [(f.name, f.type, f.label) for f in spec.features] == [
        (f["name"], f["type"], f["label"]) for f in telco_bundle.manifest["features"]
    ]
    bundle = run(
        spark,
        spec,
        RunConfig(
            artifacts=tmp_path / "artifacts",
            sample=SAMPLE_ROWS,
            seed=config.seed,
            test_fraction=config.test_fraction,
            models=config.models,
            model_params=config.model_params,
        ),
    )
    built_in = telco_bundle.manifest
    assert bundle.manifest["split"] == built_in["split"]
    for model, entry in built_in["models"].items():
        ours = bundle.manifest["models"][model]["metrics"]
        for metric in ("roc_auc", "pr_auc", "log_loss", "brier", "accuracy"):
            assert ours[metric] == pytest.approx(entry["metrics"][metric], abs=1e-9), (model, metric)
    assert bundle.manifest["dataset"]["fingerprint"] == built_in["dataset"]["fingerprint"]
    assert bundle.manifest["audit"]["columns"] == built_in["audit"]["columns"]  # [audit] in examples/telco.toml
    json.dumps(bundle.manifest)  # plain JSON


def _customer_page(root, monkeypatch, key: str | None, typed: str):
    from streamlit.testing.v1 import AppTest

    from dashboard.shell import data
    from tests.dashboard.dashboard_helpers import APP

    monkeypatch.setenv(data.ARTIFACTS_ENV, str(root))
    if key is None:
        monkeypatch.delenv(ids.KEY_ENV, raising=False)
    else:
        monkeypatch.setenv(ids.KEY_ENV, key)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["bundle"] = "awkward"
    at.run()
    at.text_input[0].input(typed).run()
    assert not at.exception
    return at


def test_dashboard_with_the_key_takes_raw_ids_and_keeps_them_out_of_the_url(hashed_root, monkeypatch):
    bundle = open_bundle(hashed_root / "awkward")
    hashed = ids.hash_id("C 0007", KEY.encode())
    predictions = pq.read_table(bundle.file(layout.predictions_path("logistic"))).to_pandas()
    expected = predictions.set_index(layout.ID_COLUMN).loc[hashed, layout.PROBABILITY_COLUMN]
    at = _customer_page(hashed_root, monkeypatch, KEY, "C 0007")
    assert {m.label: m.value for m in at.metric}["Churn probability"] == f"{expected:.1%}"
    assert at.query_params["customer"] == [hashed] or at.query_params["customer"] == hashed
    assert "hashed" not in " ".join(c.value for c in at.caption)


def test_dashboard_without_the_key_takes_hashed_ids_only_and_says_so(hashed_root, monkeypatch):
    at = _customer_page(hashed_root, monkeypatch, None, "C 0007")
    assert not at.metric
    assert "hashed" in " ".join(str(w.value) for w in at.warning)
    assert "hashed and this dashboard has no key" in " ".join(c.value for c in at.caption)
    hashed = ids.hash_id("C 0007", KEY.encode())
    at.text_input[0].input(hashed).run()
    assert {m.label for m in at.metric} >= {"Churn probability"}

"""The app end to end inside AppTest: deep links, bad input, bad bundles, Models page."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bundle import layout
from dashboard.shell import data
from tests.dashboard.dashboard_helpers import APP, champion_predictions, open_app, telco

TIMEOUT = 60


@pytest.fixture
def artifacts(bundle_root, monkeypatch) -> Path:
    monkeypatch.setenv(data.ARTIFACTS_ENV, str(bundle_root))
    return bundle_root


def run_app(**params: str) -> AppTest:
    return open_app(TIMEOUT, **params)


def texts(elements) -> str:
    """Element text as a viewer reads it (Markdown backslash escapes removed)."""
    return re.sub(r"\\(.)", r"\1", "\n".join(str(e.value) for e in elements))


def charts_on(at: AppTest) -> list:
    return list(at.get("vega_lite_chart"))


def test_deep_link_shows_probability_and_waterfall(artifacts):
    bundle = telco(artifacts)
    ids, probabilities = champion_predictions(bundle)
    at = run_app(bundle="telco", customer=str(ids[7]))
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Churn probability"] == f"{probabilities[7]:.1%}"
    assert metrics["Actual outcome"] in {"Churned", "Stayed"}
    assert metrics["Risk rank"].startswith(("Top ", "Bottom "))
    assert metrics["Risk band"] in {"High risk", "Medium risk", "Low risk"}
    # Why (waterfall) and What-if (new waterfall); ICE runs only once its tab is opened.
    assert len(charts_on(at)) == 2
    assert '"mark": {"type": "bar"' in charts_on(at)[0].proto.spec
    assert "chance of churning" in texts(at.markdown)
    assert at.dataframe[0].value["Feature"].tolist() == [f["label"] for f in bundle.manifest["features"]]


def test_no_customer_yet_prompts_and_puts_bundle_in_url(artifacts):
    at = run_app()
    assert not at.exception
    assert "Enter a customer ID" in texts(at.info)
    assert at.query_params.get("bundle") == "telco"
    assert not at.metric


def test_unknown_customer_is_a_friendly_warning(artifacts):
    bundle = telco(artifacts)
    ids, _ = champion_predictions(bundle)
    missing = str(int(ids.max()) + 1)
    at = run_app(bundle="telco", customer=missing)
    assert not at.exception
    warning = texts(at.warning)
    assert f"No customer with ID {missing}" in warning
    assert str(ids[0]) in warning  # example IDs to try
    assert not at.metric and not charts_on(at)


@pytest.mark.parametrize(
    ("raw", "message"),
    [("abc", "is not a customer ID"), ("9" * 5000, "at most 64 characters"), ("1; drop table", "not a customer ID")],
)
def test_malformed_customer_param_is_explained(artifacts, raw, message):
    at = run_app(bundle="telco", customer=raw)
    assert not at.exception
    assert message in texts(at.warning)
    assert not at.metric


def test_oversized_customer_param_is_not_echoed_into_the_url(artifacts):
    at = run_app(bundle="telco", customer="9" * 5000)
    assert "customer" not in at.query_params
    assert at.query_params["bundle"] == "telco"


def test_typing_an_id_updates_the_url(artifacts):
    bundle = telco(artifacts)
    ids, probabilities = champion_predictions(bundle)
    at = run_app(bundle="telco", customer=str(ids[0]))
    at.text_input(key="customer").input(f" {ids[-1]} ").run()
    assert not at.exception
    assert at.query_params["customer"] == str(ids[-1])
    assert at.query_params["bundle"] == "telco"
    assert {m.label: m.value for m in at.metric}["Churn probability"] == f"{probabilities[-1]:.1%}"


@pytest.mark.parametrize("name", ["nope", "../etc", ".runs", "x" * 3000])
def test_unknown_bundle_is_a_friendly_error(artifacts, name):
    at = run_app(bundle=name, customer="1")
    assert not at.exception
    error = texts(at.error)
    assert "There is no bundle named" in error and "telco" in error
    assert len(error) < 400
    assert not at.metric


@pytest.fixture
def broken_root(bundle_root, tmp_path, monkeypatch) -> Path:
    """An artifacts root whose 'telco' has a file that no longer matches its checksum."""
    root = tmp_path / "artifacts"
    shutil.copytree(bundle_root / "telco", root / "telco")
    with (root / "telco" / layout.CUSTOMERS).open("ab") as handle:
        handle.write(b"tampered")
    monkeypatch.setenv(data.ARTIFACTS_ENV, str(root))
    return root


def test_corrupt_bundle_is_a_friendly_error(broken_root):
    at = run_app(bundle="telco", customer="1")
    assert not at.exception
    assert "corrupt" in texts(at.error)
    assert not at.metric


def test_misshapen_manifest_is_a_friendly_error(bundle_root, tmp_path, monkeypatch):
    root = tmp_path / "artifacts"
    shutil.copytree(bundle_root / "telco", root / "telco")
    manifest_file = root / "telco" / layout.MANIFEST
    manifest = json.loads(manifest_file.read_text())
    manifest["models"] = list(manifest["models"])  # valid JSON, wrong shape
    manifest_file.write_text(json.dumps(manifest))
    monkeypatch.setenv(data.ARTIFACTS_ENV, str(root))
    at = run_app(bundle="telco")
    assert not at.exception
    error = texts(at.error)
    assert error.startswith("Bundle 'telco' is corrupt") and "'models' should be a dict" in error


def test_no_bundles_says_how_to_make_one(tmp_path, monkeypatch):
    monkeypatch.setenv(data.ARTIFACTS_ENV, str(tmp_path / "empty"))
    at = run_app(bundle="telco")
    assert not at.exception
    message = texts(at.info)
    assert "make demo" in message and "python -m training run --dataset telco" in message


def test_models_page_lists_every_model(artifacts):
    bundle = telco(artifacts)
    manifest = bundle.manifest
    at = run_app(bundle="telco")
    at.switch_page("app_pages/models.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    names = [manifest["models"][m]["display_name"] for m in manifest["models"]]
    assert sorted(table["Model"]) == sorted(names)
    champion = manifest["models"][manifest["champion"]]["display_name"]
    assert table.loc[table["Champion"] != "", "Model"].tolist() == [champion]
    for column in ["ROC AUC", "PR AUC", "Log loss", "Brier", "ECE", "Accuracy", "Precision", "Recall", "F1"]:
        assert table[column].notna().all(), column
    captions = "\n".join(str(c.value) for c in at.caption).replace("\\", "")
    assert f"Why the champion: {manifest['champion_rule']}" in captions
    specs = [chart.proto.spec for chart in charts_on(at)]
    assert any("True positive rate" in spec for spec in specs)
    assert at.query_params["bundle"] == "telco"


def test_dashboard_never_loads_spark_or_training(bundle_root):
    customer = str(champion_predictions(telco(bundle_root))[0][0])
    code = f"""
import os, sys
os.environ[{data.ARTIFACTS_ENV!r}] = {str(bundle_root)!r}
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({str(APP)!r}, default_timeout={TIMEOUT})
at.query_params["bundle"] = "telco"
at.query_params["customer"] = {customer!r}
at.run()
assert not at.exception, at.exception
at.switch_page("app_pages/models.py").run()
assert not at.exception, at.exception
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("pyspark", "py4j", "training"))
assert not bad, bad
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=APP.parents[1], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]

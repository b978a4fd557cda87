"""Group metrics and error analysis on the real Telco test bundle: the stored audit rows agree with the
bundle's predictions, the views with scikit-learn, and the Validation page's two sections work in
AppTest (controls, URL, cohorts, escaping); a schema-4 bundle asks to be retrained."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from analytics.cohort import parse_cohort
from bundle import layout
from dashboard.views.audit import AuditMissing, build_group_view, display_table, load_audit_data
from dashboard.views.error_analysis import build_error_view, error_data
from tests.conftest import REPO
from tests.dashboard.test_ds_pages import CARD, VALIDATION, open_page, texts

AUDITED = ["female", "senior_citizen", "partner", "dependents"]


@pytest.fixture(scope="module")
def audit(telco_bundle):
    return load_audit_data(telco_bundle)


def test_the_audit_rows_are_the_test_split_with_the_stored_probabilities(telco_bundle, audit):
    customers = telco_bundle.read_table(layout.CUSTOMERS).to_pandas()
    test = customers[customers[layout.SPLIT_COLUMN] == "test"]
    assert audit.rows[layout.ID_COLUMN].tolist() == test[layout.ID_COLUMN].tolist()  # under the cap: all of it
    for model in telco_bundle.manifest["models"]:
        stored = telco_bundle.read_table(layout.predictions_path(model)).column(layout.PROBABILITY_COLUMN).to_numpy()
        positions = test.index.to_numpy()
        assert np.array_equal(audit.rows[layout.probability_column_of(model)].to_numpy(), stored[positions])
    assert [c["name"] for c in audit.entry["columns"]] == AUDITED
    assert all(c["feature"] for c in audit.entry["columns"])
    assert [d["name"] for d in audit.entry["dimensions"]][:4] == AUDITED


def test_every_dimension_and_model_has_a_view_matching_scikit_learn(telco_bundle, audit):
    for model in telco_bundle.manifest["models"]:
        for dimension in audit.entry["dimensions"]:
            view = build_group_view(audit, model, dimension["name"], 0.5)
            assert view.table["rows"].sum() == len(audit.rows)
            shown = display_table(view)
            assert len(shown) == len(dimension["groups"]) and "Verdict" in shown
    view = build_group_view(audit, telco_bundle.manifest["champion"], "contract", 0.5)
    rows = audit.rows
    probability = rows[layout.probability_column_of(telco_bundle.manifest["champion"])]
    for row in view.table.itertuples():
        inside = rows[layout.group_column("contract")] == row.group
        y = rows.loc[inside, layout.LABEL_COLUMN]
        if 0 < y.sum() < len(y):
            assert row.roc_auc == pytest.approx(roc_auc_score(y, probability[inside]), abs=1e-12)
    assert view.population["roc_auc"] == pytest.approx(roc_auc_score(rows[layout.LABEL_COLUMN], probability))


def test_error_cohorts_apply_through_the_cohort_grammar(telco_bundle, audit):
    features = telco_bundle.manifest["features"]
    model = telco_bundle.manifest["champion"]
    view = build_error_view(audit, error_data(audit, features), model, "error", 0.5, 0.5)
    assert len(view.cohorts) >= 2 and view.cohorts["rate"].is_monotonic_decreasing
    for text in view.cohorts["cohort"]:
        assert parse_cohort(text, features)  # every cohort is a valid cohort string
    assert view.overall == pytest.approx(
        float(((audit.rows[layout.probability_column_of(model)] >= 0.5) != audit.rows[layout.LABEL_COLUMN]).mean())
    )


def test_validation_page_group_metrics_and_error_analysis(bundle_root, monkeypatch):
    at = open_page(bundle_root, monkeypatch, VALIDATION, bundle="telco", group="senior_citizen", errors="log_loss")
    assert not at.exception and not at.error
    assert at.selectbox(key="validation_group").value == "senior_citizen"
    assert at.radio(key="validation_errors").value == "log_loss"
    groups = next(frame.value for frame in at.dataframe if "Verdict" in frame.value.columns)
    assert sorted(groups["Group"]) == ["No", "Yes"]
    assert "ROC AUC (0–1)" in groups.columns and "Churn rate (%)" in groups.columns
    assert "95 % bootstrap intervals" in texts(at.caption)
    assert "clearly worse" in texts(at.markdown).lower() or "No Senior citizen group" in texts(at.markdown)
    cohorts = next(frame.value for frame in at.dataframe if "Rule" in frame.value.columns)
    assert cohorts["Rank"].tolist() == list(range(1, len(cohorts) + 1)) and "Mean log loss (nats)" in cohorts
    at.selectbox(key="validation_group").select("contract").run()
    assert not at.exception and at.query_params["group"] == "contract" and at.query_params["errors"] == "log_loss"
    # Choosing a cohort restricts the group metrics and links to Global explanations with it.
    box = at.selectbox(key="validation_cohort")
    picked = box.options[1]
    box.select(picked).run()
    assert not at.exception
    assert at.query_params["cohort"] == picked
    restricted = next(frame.value for frame in at.dataframe if "Verdict" in frame.value.columns)
    assert restricted["Test customers"].sum() < groups["Test customers"].sum()
    assert "the cohort" in texts(at.caption)


def test_a_hostile_cohort_in_the_url_is_refused_as_text(bundle_root, monkeypatch):
    at = open_page(bundle_root, monkeypatch, VALIDATION, bundle="telco", cohort="[evil](http://x):1")
    assert not at.exception
    warning = texts(at.warning)
    assert "The cohort can't be used" in warning and "](" not in warning.replace("\\](", "")
    assert "cohort" not in at.query_params


def test_a_schema_4_bundle_asks_to_be_retrained(tmp_path, monkeypatch):
    shutil.copytree(REPO / "tests" / "fixtures" / "bundle-v4" / "tiny", tmp_path / "tiny")
    from bundle.reader import open_bundle

    with pytest.raises(AuditMissing, match="retrain it with this version of churnlens to see group metrics"):
        load_audit_data(open_bundle(tmp_path / "tiny"))


def test_model_card_lists_the_audit_columns(bundle_root, monkeypatch):
    at = open_page(bundle_root, monkeypatch, CARD, bundle="telco")
    assert not at.exception
    table = next(frame.value for frame in at.dataframe if "Also a feature" in frame.value.columns)
    assert table["Column"].tolist() == AUDITED and (table["Also a feature"] == "yes").all()

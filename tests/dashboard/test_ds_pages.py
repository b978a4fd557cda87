"""Validation, Global explanations and Model card: views on the real Telco test bundle, and every
page and control in AppTest (with and without the training side's optional tables)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix
from streamlit.testing.v1 import AppTest

from analytics.cohort import parse_cohort
from bundle import layout
from dashboard.shell import data
from dashboard.views.global_explanations.view import (
    ICE_TABLE,
    PDP_TABLE,
    PERMUTATION_TABLE,
    build_global_view,
    interaction_feature,
    load_explain_data,
)
from dashboard.views.model_card import build_model_card, model_card_markdown
from dashboard.views.models import champion_reason
from dashboard.views.validation import (
    Costs,
    build_validation_view,
    calibration_summary,
    load_test_scores,
)
from tests.dashboard.dashboard_helpers import open_app
from tests.dashboard.ds_bundle import ds_root, ds_tables  # noqa: F401  (fixtures)

TIMEOUT = 90
VALIDATION = "app_pages/validation.py"
GLOBAL = "app_pages/global_explanations.py"
CARD = "app_pages/model_card.py"
COHORT = "contract:Month-to-month;tenure<12"
# Small enough that its beeswarm shows every member (under the ~5,000-point cap).
SMALL_COHORT = "contract:Month-to-month;tenure<4"


def open_page(root: Path, monkeypatch, page: str, **params: str) -> AppTest:
    monkeypatch.setenv(data.ARTIFACTS_ENV, str(root))
    return open_app(TIMEOUT, page, **params)


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def confusion(at: AppTest) -> list[list[int]]:
    return at.table[0].value.to_numpy().tolist()


# ---------------------------------------------------------------- views on the real bundle


def test_validation_view_matches_sklearn_on_the_bundle(telco_bundle):
    scores = load_test_scores(telco_bundle)
    customers = telco_bundle.read_table(layout.CUSTOMERS).to_pandas()
    assert len(scores.labels) == (customers[layout.SPLIT_COLUMN] == "test").sum()
    model = telco_bundle.manifest["champion"]
    view = build_validation_view(telco_bundle.manifest, scores, model, 0.4, Costs(10, 200, 0.3))
    tn, fp, fn, tp = confusion_matrix(scores.labels, scores.probability[model] >= 0.4).ravel()
    assert view.confusion.to_numpy().tolist() == [[tp, fn], [fp, tn]]
    assert set(view.points["model"]) == set(telco_bundle.manifest["models"])
    manifest = telco_bundle.manifest
    assert view.champion_reason == manifest["champion_rule"]
    assert view.champion_reason.startswith(manifest["models"][model]["display_name"])
    assert not view.precomputed["calibration"]
    summary = view.calibration_summary.set_index("Model")
    assert len(summary) == len(manifest["models"])
    test = customers[layout.SPLIT_COLUMN].to_numpy() == "test"
    labels = customers[layout.LABEL_COLUMN].to_numpy()[test]
    for name, entry in manifest["models"].items():
        row = summary.loc[entry["display_name"]]
        calibration = entry["calibration"]
        assert row["Calibration"] == "Platt scaling" and row["Validation rows"] == calibration["rows"] > 0
        assert (row["Slope"], row["Intercept"]) == (calibration["slope"], calibration["intercept"])
        assert row["Log loss after"] == entry["metrics"]["log_loss"]
        assert row["ECE before"] == calibration["before"]["ece"] and row["ECE after"] == entry["metrics"]["ece"]
        # "Before" is sigmoid of the stored margin on the test split, recomputed here.
        margin = telco_bundle.read_table(layout.predictions_path(name)).column(layout.MARGIN_COLUMN).to_numpy()
        before = 1 / (1 + np.exp(-margin[test]))
        assert row["Brier before"] == pytest.approx(float(np.mean((before - labels) ** 2)), abs=1e-9)


def test_champion_reason_and_calibration_summary_of_a_bundle_without_them():
    manifest = {
        "champion": "b",
        "champion_metric": "roc_auc",
        "models": {
            "a": {"display_name": "A", "metrics": {"roc_auc": 0.80, "log_loss": 0.5}},
            "b": {
                "display_name": "B",
                "metrics": {"roc_auc": 0.85, "log_loss": 0.4},
                "calibration": {"method": "none", "slope": 1, "intercept": 0, "rows": 0, "fitted_on": "x"},
            },
        },
    }
    reason = champion_reason(manifest)
    assert "runner-up" in reason and reason.startswith("B is the champion")
    summary = calibration_summary(manifest)
    # Champion first, as every table of the page.
    assert summary["Model"].tolist() == ["B", "A"] and summary["Calibration"].tolist() == ["none", "none"]
    assert summary["Log loss after"].tolist() == [0.4, 0.5] and summary["Log loss before"].isna().all()
    assert summary["Slope"].isna().tolist() == [False, True]
    assert champion_reason({**manifest, "champion_rule": "B: because."}) == "B: because."


def test_cohort_recomputes_from_stored_shap(telco_bundle, ds_tables):  # noqa: F811 (pytest fixture imported above)
    explain = load_explain_data(telco_bundle)
    model = telco_bundle.manifest["champion"]
    conditions = parse_cohort(COHORT, telco_bundle.manifest["features"])
    everyone = build_global_view(
        explain, model, [], "tenure", ds_tables[PERMUTATION_TABLE], ds_tables[PDP_TABLE], ds_tables[ICE_TABLE]
    )
    cohort = build_global_view(
        explain, model, conditions, "tenure", ds_tables[PERMUTATION_TABLE], ds_tables[PDP_TABLE], ds_tables[ICE_TABLE]
    )
    frame = explain.frame
    expected = (frame["contract"] == "Month-to-month") & (frame["tenure"] < 12)
    assert cohort.cohort_size == expected.sum() < everyone.cohort_size == len(frame)
    assert cohort.cohort_churn_rate == pytest.approx(frame.loc[expected, layout.LABEL_COLUMN].mean())
    shap = explain.shap[model][expected.to_numpy()]
    top = cohort.importance.iloc[0]
    index = [f["name"] for f in explain.features].index(top["feature"])
    assert top["mean_abs_shap"] == pytest.approx(np.abs(shap[:, index]).mean())
    features = len(explain.features)
    assert len(everyone.beeswarm) == min(len(frame), 5000 // features) * features <= 5000
    assert len(cohort.beeswarm) == min(cohort.cohort_size, 5000 // features) * features
    uncapped = build_global_view(explain, model, conditions, "tenure", max_points=10**9)
    assert len(uncapped.beeswarm) == cohort.cohort_size * features
    assert cohort.importance["mean_drop"].notna().all()
    # ICE lines of the cohort belong to cohort customers only; a cohort average line joins the PDP.
    ids = set(frame.loc[expected, layout.ID_COLUMN])
    assert cohort.ice is not None and cohort.pdp is not None and everyone.pdp is not None
    assert set(cohort.ice["customer_id"]) <= ids
    assert cohort.pdp["curve"].nunique() == 2 and everyone.pdp["curve"].nunique() == 1


def test_interaction_pick_finds_a_planted_interaction(telco_bundle):
    """Make tenure's SHAP values depend on senior citizenship: the pick must find that feature."""
    explain = load_explain_data(telco_bundle)
    model = telco_bundle.manifest["champion"]
    names = [f["name"] for f in explain.features]
    senior = explain.frame["senior_citizen"].to_numpy(dtype=float)
    planted = explain.shap[model].copy()
    planted[:, names.index("tenure")] = 0.02 * explain.frame["tenure"].to_numpy(dtype=float) + 0.5 * senior
    shap = {**explain.shap, model: planted}
    altered = type(explain)(features=explain.features, frame=explain.frame, probability=explain.probability, shap=shap)
    picked, score = interaction_feature(altered, model, "tenure", np.ones(len(explain.frame), dtype=bool))
    assert picked == "senior_citizen" and score > 0.9


def test_model_card_answers_which_data_features_parameters(telco_bundle):
    manifest = dict(telco_bundle.manifest)
    model = manifest["champion"]
    # Tuning results as the training side records them (input to the card, not a result of it).
    # Only the champion keeps a search; the others show how a model without one reads.
    manifest["models"] = {
        **{m: {k: v for k, v in e.items() if k != "tuning"} for m, e in manifest["models"].items()},
        model: {
            **manifest["models"][model],
            "tuning": {
                "method": "grid",
                "metric": "roc_auc",
                "validation": "3-fold CV",
                "grid": [{"params": {"depth": 3}, "score": 0.81}, {"params": {"depth": 5}, "score": 0.84}],
                "best_params": {"depth": 5},
            },
        },
    }
    manifest["features"] = [
        {**manifest["features"][0], "label": "Tenure | [x](http://evil) `tick`"},
        *manifest["features"][1:],
    ]
    card = build_model_card(manifest)
    assert len(card.features) == len(manifest["features"])
    assert card.tuning[model]["best"].tolist() == ["", "★"]
    assert set(card.timings["Stage"]) == set(manifest["timings"])
    markdown = model_card_markdown(manifest, card)
    assert manifest["dataset"]["fingerprint"] in markdown and "Spark master" in markdown
    assert "`` Tenure \\| [x](http://evil) `tick` ``" in markdown  # code span: inert, pipe escaped for the table
    assert "No search for this model" in markdown  # models without a search say so
    # Reason codes: one row per code, with what it matches and where it came from (Telco's spec).
    reasons = card.reasons.set_index("Code")
    assert len(reasons) == sum(len(f["reasons"]) for f in manifest["features"])
    assert reasons.loc["contract:Month-to-month", "Phrase"] == "Month-to-month contract"
    assert reasons.loc["tenure:12-24", "Matches"] == "12 ≤ value < 24"
    assert reasons.loc["tenure:lt12", "Matches"] == "value < 12"
    assert reasons.loc["female:yes", "Matches"] == "Yes (1)"
    assert reasons.loc["total_charges:missing", "Matches"] == "missing"
    assert set(reasons["Source"]) == {"given (dataset spec)"}
    assert "## Reason codes" in markdown and "`contract:Month-to-month`" in markdown


# ---------------------------------------------------------------- pages in AppTest


def test_validation_page_threshold_and_costs(bundle_root, monkeypatch):
    at = open_page(bundle_root, monkeypatch, VALIDATION, bundle="telco", threshold="0.30")
    assert not at.exception and not at.error
    assert at.slider(key="validation_threshold").value == pytest.approx(0.30)
    before = confusion(at)
    assert sum(map(sum, before)) > 0
    at.slider(key="validation_threshold").set_value(0.7).run()
    after = confusion(at)
    assert after[0][0] + after[1][0] < before[0][0] + before[1][0]  # fewer flagged at a higher threshold
    assert at.query_params["threshold"] == "0.70"
    best_cheap = float(metrics(at)["Best threshold"])
    at.number_input[0].set_value(150.0).run()  # a dearer offer
    best_dear = float(metrics(at)["Best threshold"])
    assert best_dear > best_cheap
    at.button[0].click().run()  # "move the slider to the best threshold"
    assert at.slider(key="validation_threshold").value == pytest.approx(best_dear)
    assert len(at.get("vega_lite_chart")) == 10  # 7 + group metrics (2) + error tree
    assert "without a calibration table" not in texts(at.caption)  # training wrote the table
    manifest = data.load_bundle("telco").manifest
    assert f"Why this champion: {manifest['champion_rule']}" in texts(at.caption).replace("\\", "")
    assert "**Calibration on the test split**" in texts(at.markdown)
    table = next(frame.value for frame in at.dataframe if "ECE before" in frame.value.columns)
    assert len(table) == len(manifest["models"]) and (table["Calibration"] == "Platt scaling").all()


def test_validation_page_model_switch(bundle_root, monkeypatch):
    at = open_page(bundle_root, monkeypatch, VALIDATION, bundle="telco", threshold="0.5")
    box = at.selectbox(key="validation_model")
    assert len(box.options) == len(data.load_bundle("telco").manifest["models"])
    other = next(m for m in data.load_bundle("telco").manifest["models"] if m != box.value)
    before = metrics(at)["Precision"], confusion(at)
    box.select(other).run()
    assert not at.exception
    assert at.selectbox(key="validation_model").value == other and at.query_params["model"] == other
    assert (metrics(at)["Precision"], confusion(at)) != before


@pytest.mark.parametrize(("threshold", "message"), [("abc", "not a threshold"), ("7", "between 0 and 1")])
def test_validation_page_bad_url_params(bundle_root, monkeypatch, threshold, message):
    at = open_page(bundle_root, monkeypatch, VALIDATION, bundle="telco", threshold=threshold, model="[x](y)")
    assert not at.exception
    warnings = texts(at.warning)
    assert message in warnings and "Using the model's threshold" in warnings
    assert "[x](y)" not in warnings  # escaped, never a link
    assert confusion(at)  # the page still shows the model's own threshold


def test_validation_page_reads_precomputed_tables(ds_root, monkeypatch):  # noqa: F811 (pytest fixture imported above)
    at = open_page(ds_root, monkeypatch, VALIDATION, bundle="telco")
    assert not at.exception
    assert "without a calibration table" not in texts(at.caption)


def test_global_page_cohort_filter(ds_root, monkeypatch):  # noqa: F811 (pytest fixture imported above)
    at = open_page(ds_root, monkeypatch, GLOBAL, bundle="telco", feature="tenure")  # a feature with PDP grids
    assert not at.exception and not at.error
    everyone = metrics(at)["Customers in cohort"]
    points_before = texts(at.caption)
    at.text_input(key="global_cohort").input(SMALL_COHORT).run()
    assert not at.exception
    assert metrics(at)["Customers in cohort"] != everyone
    size = int(metrics(at)["Customers in cohort"].replace(",", ""))
    assert f"Beeswarm of {size * len(data.load_bundle('telco').manifest['features']):,} points" in texts(at.caption)
    assert texts(at.caption) != points_before
    assert at.query_params["cohort"] == SMALL_COHORT
    assert len(at.get("vega_lite_chart")) == 5  # |SHAP|, permutation, beeswarm, dependence, PDP/ICE


def test_global_page_cohort_from_url_and_feature_switch(ds_root, monkeypatch):  # noqa: F811 (pytest fixture imported above)
    at = open_page(ds_root, monkeypatch, GLOBAL, bundle="telco", cohort=COHORT)
    bundle = data.load_bundle("telco")
    frame = bundle.read_table(layout.CUSTOMERS).to_pandas()
    expected = ((frame["contract"] == "Month-to-month") & (frame["tenure"] < 12)).sum()
    assert metrics(at)["Customers in cohort"] == f"{expected:,}"
    at.selectbox(key="global_feature").select("contract").run()
    assert not at.exception and at.query_params["feature"] == "contract"
    assert "PDP with ICE" in texts(at.caption)


@pytest.mark.parametrize("cohort", ["contract=x", "tenure<abc", "[evil](http://x):1", "contract:Nope"])
def test_global_page_malformed_cohort(bundle_root, monkeypatch, cohort):
    at = open_page(bundle_root, monkeypatch, GLOBAL, bundle="telco", cohort=cohort)
    assert not at.exception
    assert "The cohort can't be used" in texts(at.error)
    assert "](" not in texts(at.error).replace("\\](", "")  # link syntax arrives escaped
    # The bundle's own permutation importance and partial dependence still show.
    assert "trained without" not in texts(at.info)


def test_model_card_page_and_download(bundle_root, monkeypatch):
    at = open_page(bundle_root, monkeypatch, CARD, bundle="telco")
    assert not at.exception
    bundle = data.load_bundle("telco")
    features = [t for t in at.dataframe if "Preprocessing" in t.value.columns][0].value
    assert features["Feature"].tolist() == [f["name"] for f in bundle.manifest["features"]]
    reasons = [t for t in at.dataframe if "Matches" in t.value.columns][0].value
    assert reasons["Code"].tolist() == [r["code"] for f in bundle.manifest["features"] for r in f["reasons"]]
    assert len(at.get("download_button")) == 1

"""Batch scoring with a published bundle: exact scores, reasons, bad values counted, drift flagged."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from analytics import drift, risk
from analytics.effects import MAX_REASONS
from analytics.reasons import reason_for
from bundle import layout
from training.__main__ import main
from training.datasets.reasons import CODE_PATTERN
from training.datasets.telco import export_csv
from training.scoring import score_table


@pytest.fixture(scope="module")
def telco_rows(telco_bundle, tmp_path_factory) -> pd.DataFrame:
    """The bundle's own customers, as the raw CSV rows they came from."""
    folder = tmp_path_factory.mktemp("score")
    export_csv(folder / "telco.csv")
    frame = pd.read_csv(folder / "telco.csv")
    ids = pq.read_table(telco_bundle.file(layout.CUSTOMERS)).column(layout.ID_COLUMN).to_numpy()
    return frame[frame["rownames"].isin(ids)].sort_values("rownames").reset_index(drop=True)


@pytest.fixture(scope="module")
def damaged(telco_rows, tmp_path_factory) -> tuple:
    """Rows 0–4 lose tenure, 5–7 get an unseen contract, 8–9 a monthly charge that is not a number."""
    frame = telco_rows.astype({"monthly_charges": object, "tenure": object})
    frame.loc[0:4, "tenure"] = None
    frame.loc[5:7, "contract"] = "Quarterly"
    frame.loc[8:9, "monthly_charges"] = "n/a"
    path = tmp_path_factory.mktemp("damaged") / "new customers.csv"
    frame.drop(columns=["churn"]).to_csv(path, index=False)
    return path, frame


def test_scores_equal_the_bundles_own_for_every_model_and_bad_values_are_counted(
    spark, telco_bundle, damaged, tmp_path
):
    path, frame = damaged
    changed = set(range(10))
    for model in telco_bundle.manifest["models"]:
        output = tmp_path / f"scored-{model}"
        summary = score_table(spark, telco_bundle, model, str(path), None, output, "parquet")
        scored = pd.read_parquet(output).sort_values(layout.ID_COLUMN).reset_index(drop=True)
        assert len(scored) == len(frame) and scored[layout.ID_COLUMN].tolist() == frame["rownames"].tolist()
        stored = pq.read_table(telco_bundle.file(layout.predictions_path(model))).to_pandas()
        same = ~scored.index.isin(changed)
        # No retraining: unchanged customers get the probability the bundle holds.
        gap = np.abs(
            scored[layout.PROBABILITY_COLUMN][same].to_numpy() - stored[layout.PROBABILITY_COLUMN][same].to_numpy()
        )
        assert gap.max() < 1e-6, (model, gap.max())
        assert np.isfinite(scored[layout.PROBABILITY_COLUMN]).all()
        cuts = risk.cutoffs(telco_bundle, model)
        assert (scored["risk_band"].to_numpy() == risk.band(scored[layout.PROBABILITY_COLUMN].to_numpy(), cuts)).all()
        assert set(scored["risk_band"]) <= set(risk.BANDS)
        check_reasons(telco_bundle, model, scored, same)
    assert "tenure: 0 invalid" not in summary
    report = json.loads((tmp_path / f"scored-{model}.drift.json").read_text())
    quality = report["input_quality"]
    assert (quality["tenure"]["missing"], quality["contract"]["unseen"], quality["monthly_charges"]["invalid"]) == (
        5,
        3,
        2,
    )
    assert quality["contract"]["example"] == "Quarterly" and quality["monthly_charges"]["example"] == "n/a"
    assert "contract: 0 invalid (treated as missing), 3 unseen categories, e.g. 'Quarterly'" in summary


def check_reasons(bundle, model: str, scored: pd.DataFrame, same: np.ndarray) -> None:
    """Four reasons per row, ranked by |effect|; on the unchanged rows the first is the bundle's largest
    |SHAP|, its code and phrase are `reason_for` of the customer's value, its effect SHAP × the model's
    calibration slope (read from the manifest); every odds factor is exp(effect)."""
    features = {f["name"]: f for f in bundle.manifest["features"]}
    slope = bundle.manifest["models"][model]["calibration"]["slope"]
    ids = scored[layout.ID_COLUMN]
    shap = pq.read_table(bundle.file(layout.shap_path(model))).to_pandas().set_index(layout.ID_COLUMN).loc[ids]
    customers = pq.read_table(bundle.file(layout.CUSTOMERS)).to_pandas().set_index(layout.ID_COLUMN).loc[ids]
    top = shap.abs().to_numpy().argmax(axis=1)
    names = list(shap.columns)
    rows = np.flatnonzero(same)
    expected = [reason_for(features[names[top[r]]], customers[names[top[r]]].iloc[r]) for r in rows]
    assert list(zip(scored["reason_1_code"].iloc[rows], scored["reason_1"].iloc[rows], strict=True)) == expected
    assert np.allclose(
        scored["reason_1_effect"].iloc[rows], slope * shap.to_numpy()[rows, top[rows]], rtol=0, atol=1e-9
    ), model
    sizes = np.abs(scored[[f"reason_{k}_effect" for k in range(1, MAX_REASONS + 1)]].to_numpy())
    assert (np.diff(sizes, axis=1) <= 1e-12).all()
    for k in range(1, MAX_REASONS + 1):
        factor = scored[f"reason_{k}_odds_factor"].to_numpy()
        assert np.allclose(factor, np.exp(scored[f"reason_{k}_effect"].to_numpy()), rtol=1e-12), (model, k)
        assert scored[f"reason_{k}_code"].str.fullmatch(CODE_PATTERN).all()
    assert not any(c.endswith("_shap") for c in scored.columns)
    # Telco's codes are hand-written in its spec: a CRM sees e.g. contract:Month-to-month.
    assert set(scored["reason_1_code"]) & {r["code"] for f in features.values() for r in f.get("reasons", [])}


def test_drift_report_flags_the_shifted_feature_only(spark, telco_bundle, telco_rows, tmp_path):
    shifted = telco_rows.drop(columns=["churn"]).assign(tenure=telco_rows["tenure"] + 36)
    path = tmp_path / "shifted.parquet"
    shifted.to_parquet(path, index=False)
    score_table(spark, telco_bundle, telco_bundle.manifest["champion"], str(path), None, tmp_path / "out.csv", "csv")
    report = json.loads((tmp_path / "out.csv.drift.json").read_text())
    by_feature = {f["feature"]: f for f in report["features"]}
    assert by_feature["tenure"]["status"] == "act" and by_feature["tenure"]["psi"] >= drift.PSI_ACT
    # The same customers otherwise: training rows are ~80 % of them, so nothing else moves.
    assert {f for f, r in by_feature.items() if r["status"] != "stable"} == {"tenure"}
    assert max(r["psi"] for f, r in by_feature.items() if f != "tenure") < drift.PSI_WATCH
    markdown = (tmp_path / "out.csv.drift.md").read_text()
    assert "| act | Tenure (months) |" in markdown and "**1 act, 0 watch" in markdown
    columns = pd.read_csv(next((tmp_path / "out.csv").glob("part-*.csv"))).columns.tolist()
    reasons = [f"reason_{k}{s}" for k in range(1, 5) for s in ("_code", "", "_value", "_effect", "_odds_factor")]
    assert columns == [
        layout.ID_COLUMN,
        "model",
        layout.PROBABILITY_COLUMN,
        layout.MARGIN_COLUMN,
        "risk_band",
        *reasons,
    ]


def test_psi_and_status_thresholds():
    assert drift.psi(np.array([50, 50]), np.array([50, 50])) == 0.0
    assert drift.psi(np.array([50, 50]), np.array([90, 10])) == pytest.approx(
        0.4 * np.log(0.9 / 0.5) - 0.4 * np.log(0.1 / 0.5)
    )
    assert (
        drift.status(0.05, 0.0) == "stable" and drift.status(0.12, 0.0) == "watch" and drift.status(0.3, 0.0) == "act"
    )
    assert drift.status(0.0, -0.06) == "watch" and drift.status(0.0, 0.25) == "act"


def test_missing_columns_are_named_before_any_scoring(bundle_root, telco_rows, tmp_path, capsys):
    path = tmp_path / "partial.csv"
    telco_rows.drop(columns=["tenure", "contract"]).to_csv(path, index=False)
    code = main(
        [
            "score",
            "--bundle",
            "telco",
            "--artifacts",
            str(bundle_root),
            "--input",
            str(path),
            "--output",
            str(tmp_path / "o"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "the input lacks 2 column(s) the bundle's models need: 'tenure', 'contract'" in err
    assert "Traceback" not in err and not (tmp_path / "o").exists()
    assert (
        main(["score", "--bundle", "nope", "--artifacts", str(bundle_root), "--input", str(path), "--output", "x"]) == 2
    )
    assert "There is no bundle named 'nope'" in capsys.readouterr().err


def test_batch_scores_are_the_runtime_on_the_same_dirty_rows(spark, telco_bundle, damaged, tmp_path):
    """The written probability, margin and top reason are `runtime` on the same rows, dirt included:
    missing tenure, an unseen contract, and text where a monthly charge should be (runtime's encoder sees the
    text itself; Spark's reference sees it as missing; both must encode it the same)."""
    from bundle.models import load_runtime

    path, frame = damaged
    rows = pq.read_table(telco_bundle.file(layout.CUSTOMERS)).to_pandas().sort_values(layout.ID_COLUMN)
    rows = rows.reset_index(drop=True).astype({"tenure": object, "monthly_charges": object})
    rows.loc[0:4, "tenure"] = None
    rows.loc[5:7, "contract"] = "Quarterly"
    rows.loc[8:9, "monthly_charges"] = "n/a"
    for model in telco_bundle.manifest["models"]:
        output = tmp_path / f"runtime-{model}"
        score_table(spark, telco_bundle, model, str(path), None, output, "parquet")
        scored = pd.read_parquet(output).sort_values(layout.ID_COLUMN).reset_index(drop=True)
        runtime = load_runtime(telco_bundle, model)
        margin, shap = runtime.explain(rows)
        assert np.max(np.abs(scored[layout.MARGIN_COLUMN].to_numpy() - margin)) < 1e-9, model
        # The bundle's calibration map, read from its manifest: sigmoid(slope × margin + intercept).
        calibration = telco_bundle.manifest["models"][model]["calibration"]
        assert calibration["method"] == "platt" and runtime.calibration.slope == calibration["slope"]
        expected = 1 / (1 + np.exp(-(calibration["slope"] * margin + calibration["intercept"])))
        assert np.max(np.abs(scored[layout.PROBABILITY_COLUMN].to_numpy() - expected)) < 1e-9
        slope = calibration["slope"]
        top = np.abs(shap).max(axis=1)
        assert np.allclose(np.abs(scored["reason_1_effect"].to_numpy()), slope * top, atol=1e-9), model

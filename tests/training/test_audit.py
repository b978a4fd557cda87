"""Group metrics and error analysis on generated customers with known failures.

The customers are generated with a planted group (`segment = planted`, 600 customers) whose scores
are noise, a 30-customer group (`segment = tiny`) whose scores are noise too, and a planted error
cohort (region d with x > 0.5, where the scores are turned upside down). The audit runs the real
training code (Spark for groups and counts, the stage's bootstrap and trees) and the page's views.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, precision_score, recall_score, roc_auc_score

from analytics import groups
from analytics.cohort import cohort_mask, parse_cohort
from bundle import layout
from dashboard.views.audit import audit_data, build_group_view
from dashboard.views.error_analysis import build_error_view, error_data
from training import audit
from training.datasets.spec import DatasetSpec, FeatureSpec
from training.stages.audit import audit_tables

REGIONS = ["a", "b", "c", "d"]
SLOTS = [{"feature": "x", "kind": "numeric", "fill": 0.0}] + [
    {"feature": "region", "kind": "onehot", "category": r} for r in REGIONS
]
FEATURES: list[dict] = [
    {"name": "x", "type": "numeric"},
    {"name": "region", "type": "categorical", "categories": REGIONS},
]
SPEC = DatasetSpec(
    name="planted",
    source="tests",
    id_column="customer_id",
    label_column="label",
    positive_label="1",
    features=(FeatureSpec("x", "numeric", "X"), FeatureSpec("region", "categorical", "Region")),
    load=lambda spark: None,  # type: ignore[arg-type,return-value]
    audit=("segment",),
)


def _customers(n: int = 4000, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    region = rng.choice(REGIONS, size=n)
    segment = np.where(np.arange(n) % 2 == 0, "north", "south").astype(object)
    test = np.arange(n) < 3000
    segment[:600] = "planted"
    segment[600:630] = "tiny"
    truth = 1 / (1 + np.exp(-2.5 * x))
    label = (rng.random(n) < truth).astype(int)
    score = truth.copy()
    noise = np.isin(segment, ["planted", "tiny"])
    score[noise] = rng.random(noise.sum())
    flipped = (region == "d") & (x > 0.5) & ~noise
    score[flipped] = 1 - score[flipped]
    return pd.DataFrame(
        {
            layout.ID_COLUMN: np.arange(1, n + 1),
            layout.LABEL_COLUMN: label,
            layout.SPLIT_COLUMN: np.where(test, "test", "train"),
            "x": x,
            "region": region,
            "segment": segment.astype(str),
            "score": score,
        }
    )


@pytest.fixture(scope="module")
def planted(spark):
    customers = _customers()
    table = spark.createDataFrame(customers.drop(columns="score"))
    dims = audit.dimensions(table, SPEC)
    counted = audit.count_groups(table, SPEC, dims)
    rows = audit.test_rows(table, SPEC, dims, seed=3, cap=layout.AUDIT_ROW_CAP)
    rows[layout.probability_column_of("m")] = (
        customers.set_index(layout.ID_COLUMN).loc[rows[layout.ID_COLUMN], "score"].to_numpy()
    )
    stage = audit_tables(rows, counted, dims, SPEC, {"m": 0.5}, SLOTS, seed=3)
    return stage, audit_data(stage.manifest, stage.tables)


def test_dimensions_are_the_audit_column_then_the_features_with_quantile_bins(planted):
    stage, _ = planted
    names = [d["name"] for d in stage.manifest["dimensions"]]
    assert names == ["segment", "x", "region"]
    x = stage.manifest["dimensions"][1]
    assert x["binning"] == "quantiles" and len(x["edges"]) == 4 and len(x["groups"]) == 6  # 5 bins + missing
    assert stage.manifest["columns"] == [{"name": "segment", "label": "segment", "feature": False}]
    counted = stage.tables[layout.AUDIT_GROUPS]
    segment = counted[counted["dimension"] == "segment"].set_index("group")
    assert segment.loc["planted", "customers"] == 600 and segment.loc["tiny", "test_customers"] == 30
    assert segment["customers"].sum() == 4000


def test_the_planted_group_is_named_and_its_interval_excludes_the_population(planted):
    _, data = planted
    view = build_group_view(data, "m", "segment", 0.5)
    table = view.table.set_index("group")
    assert table.loc["planted", "roc_auc_upper"] < view.population["roc_auc"]
    assert not table.loc["planted", "small"] and "ROC AUC" in table.loc["planted", "worse_on"]
    assert "planted (" in view.sentence and "Clearly worse" in view.sentence
    # 30 customers with noise scores: too small to judge, never named.
    assert table.loc["tiny", "rows"] == 30 and table.loc["tiny", "small"]
    assert "tiny" not in view.sentence.replace("too small", "")
    assert view.reference in ("north", "south")  # the largest group
    assert table.loc[view.reference, "flag_ratio"] == pytest.approx(1.0)


def test_group_metrics_equal_scikit_learns_on_the_same_rows(planted):
    _, data = planted
    view = build_group_view(data, "m", "segment", 0.4)
    rows = data.rows
    for group in ("planted", "north", "south"):
        inside = rows[layout.group_column("segment")] == group
        y, p = rows.loc[inside, layout.LABEL_COLUMN], rows.loc[inside, layout.probability_column_of("m")]
        got = view.table.set_index("group").loc[group]
        assert got["roc_auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
        assert got["brier"] == pytest.approx(brier_score_loss(y, p), abs=1e-12)
        assert got["precision"] == pytest.approx(precision_score(y, p >= 0.4), abs=1e-12)
        assert got["tpr"] == pytest.approx(recall_score(y, p >= 0.4), abs=1e-12)
        assert got["roc_auc_lower"] <= got["roc_auc"] <= got["roc_auc_upper"]


def test_the_page_regenerates_the_resamples_training_used(planted):
    stage, data = planted
    stored = stage.tables[layout.AUDIT_METRICS]
    stored = stored[(stored["dimension"] == "region") & (stored["metric"] == "roc_auc")].set_index("group")
    codes = groups.codes_of(data.rows[layout.group_column("region")].to_numpy(), REGIONS)
    again = groups.fixed_metrics(
        data.counts, codes, 4, data.rows[layout.LABEL_COLUMN].to_numpy(), data.rows["probability:m"].to_numpy()
    )
    lower, upper = groups.interval(again["roc_auc"])
    assert np.allclose(lower, stored.loc[REGIONS, "lower"]) and np.allclose(upper, stored.loc[REGIONS, "upper"])


def test_the_planted_error_cohort_is_the_first_one_listed(planted):
    _, data = planted
    planted_rows = (
        (data.rows["region"] == "d")
        & (data.rows["x"] > 0.5)
        & ~data.rows[layout.group_column("segment")].isin(["planted", "tiny"])
    ).to_numpy()
    for target in ("error", "log_loss"):
        view = build_error_view(data, error_data(data, FEATURES), "m", target, 0.5, 0.5)
        text = view.cohorts.loc[0, "cohort"]
        inside = cohort_mask(data.rows, parse_cohort(text, FEATURES))
        # The depth-4 tree may cut the planted cohort in pieces: the worst leaf is one of them (the rest of
        # it are the noise-scored segments, which are no feature the tree could split on).
        assert "region:d" in text.split(";") and (inside & planted_rows).sum() >= 0.8 * inside.sum(), text
        assert view.cohorts.loc[0, "ratio"] > 2


def test_stored_cohort_sizes_are_what_the_grammar_selects(planted):
    stage, data = planted
    tree = stage.tables[layout.ERROR_TREE]
    for row in tree.itertuples():
        mask = cohort_mask(data.rows, parse_cohort(row.cohort, FEATURES))
        assert mask.sum() == row.rows
    assert tree.groupby(["model", "target"])["depth"].max().max() <= 4


def test_a_cohort_restricts_the_group_metrics(planted):
    _, data = planted
    conditions = parse_cohort("region:d", FEATURES)
    view = build_group_view(data, "m", "segment", 0.5, conditions)
    assert view.rows == int((data.rows["region"] == "d").sum())
    assert view.table["rows"].sum() == view.rows

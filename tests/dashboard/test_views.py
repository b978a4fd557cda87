"""Page data for the Customer and Models pages, built from a real bundle."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from bundle import layout
from bundle.manifest import model_names
from dashboard import views
from store.customers import CustomerStore, MalformedCustomerId, UnknownCustomer
from tests.bundle.tiny import write_tiny_bundle
from tests.dashboard.dashboard_helpers import champion_predictions, telco


@pytest.fixture(scope="module")
def bundle(bundle_root):
    return telco(bundle_root)


@pytest.fixture(scope="module")
def store(bundle):
    return CustomerStore(bundle)


@pytest.fixture(scope="module")
def customers(bundle) -> pd.DataFrame:
    return pq.read_table(bundle.file(layout.CUSTOMERS)).to_pandas()


def test_probability_and_percentile_come_from_the_champion(bundle, store):
    ids, probabilities = champion_predictions(bundle)
    pos = len(ids) // 3
    view = views.build_customer_view(bundle, store, str(ids[pos]))
    assert view.model == bundle.manifest["champion"]
    assert view.probability == pytest.approx(probabilities[pos])
    expected_percentile = 100.0 * np.mean(probabilities < probabilities[pos])
    assert view.percentile == pytest.approx(expected_percentile)
    # The stored probability is the calibrated one (Platt: sigmoid(slope × margin + intercept)).
    assert bundle.manifest["models"][view.model]["calibration"]["method"] == "platt"
    assert view.probability == pytest.approx(float(view.calibration.probability(view.margin)), abs=1e-6)


def test_outcome_reflects_label_and_split(bundle, store, customers):
    for label, split in [(1, "test"), (0, "train")]:
        row = customers[(customers[layout.LABEL_COLUMN] == label) & (customers[layout.SPLIT_COLUMN] == split)].iloc[0]
        view = views.build_customer_view(bundle, store, str(row[layout.ID_COLUMN]))
        assert view.outcome == ("Churned" if label else "Stayed")
        assert view.outcome_detail.startswith(f"{'test' if split == 'test' else 'training'} set")


def test_waterfall_adds_up_from_base_value_to_calibrated_log_odds(bundle, store):
    ids, _ = champion_predictions(bundle)
    view = views.build_customer_view(bundle, store, str(ids[0]), top_n=5)
    rows = view.waterfall
    n_features = len(bundle.manifest["features"])
    assert len(rows) == min(5, n_features) + (1 if n_features > 5 else 0)
    top = rows[rows["feature"] != views.OTHER]
    assert list(top["effect"].abs()) == sorted(top["effect"].abs(), reverse=True)
    # Each bar starts where the one below it ends; the bottom one starts at the calibrated base value.
    calibration = view.calibration
    assert rows["start"].iloc[-1] == pytest.approx(float(calibration.log_odds(view.base_value)))
    assert np.allclose(rows["start"].iloc[:-1].to_numpy(), rows["end"].iloc[1:].to_numpy())
    assert np.allclose(rows["end"] - rows["start"], rows["effect"])
    tolerance = calibration.slope * layout.LOCAL_ACCURACY_TOLERANCE
    assert rows["end"].iloc[0] == pytest.approx(float(calibration.log_odds(view.margin)), abs=tolerance)
    assert set(rows["direction"][rows["effect"] > 0]) <= {views.INCREASES}
    assert set(rows["direction"][rows["effect"] < 0]) <= {views.DECREASES}


def test_other_features_row_sums_the_rest(bundle, store):
    ids, _ = champion_predictions(bundle)
    view = views.build_customer_view(bundle, store, str(ids[1]), top_n=3)
    record = store.lookup(str(ids[1]))
    slope = bundle.manifest["models"][view.model]["calibration"]["slope"]
    shap = record.shap[view.model]
    other = view.waterfall[view.waterfall["feature"] == views.OTHER].iloc[0]
    rest = sorted(shap.values(), key=abs, reverse=True)[3:]
    assert other["label"] == f"{len(rest)} other features"
    assert other["effect"] == pytest.approx(slope * sum(rest))


def test_no_other_row_when_every_feature_fits(bundle, store):
    ids, _ = champion_predictions(bundle)
    view = views.build_customer_view(bundle, store, str(ids[2]), top_n=1000)
    assert views.OTHER not in set(view.waterfall["feature"])
    assert len(view.waterfall) == len(bundle.manifest["features"])


def test_feature_table_uses_labels_and_display_values(bundle, store, customers):
    specs = bundle.manifest["features"]
    binary = [f for f in specs if f["type"] == "binary"]
    row = customers.iloc[5]
    view = views.build_customer_view(bundle, store, str(row[layout.ID_COLUMN]))
    assert list(view.features["Feature"]) == [f["label"] for f in specs]
    shown = dict(zip(view.features["Feature"], view.features["Value"], strict=True))
    for feature in binary:
        raw = row[feature["name"]]
        expected = "missing" if pd.isna(raw) else ("Yes" if raw == 1 else "No")
        assert shown[feature["label"]] == expected
    assert all(isinstance(v, str) for v in view.features["Value"])


def test_missing_values_show_as_missing(tmp_path):
    tiny = write_tiny_bundle(tmp_path)  # customer 11 has no tenure
    view = views.build_customer_view(tiny, CustomerStore(tiny), "11")
    shown = dict(zip(view.features["Feature"], view.features["Value"], strict=True))
    assert shown == {"Tenure (months)": "missing", "Contract": "Monthly"}
    assert "Tenure: missing" in set(view.waterfall["reason"])


@pytest.mark.parametrize(
    ("feature", "value", "expected"),
    [
        ({"type": "binary"}, 1, "Yes"),
        ({"type": "binary"}, 0.0, "No"),
        ({"type": "binary"}, None, "missing"),
        ({"type": "numeric"}, float("nan"), "missing"),
        ({"type": "numeric"}, 72.0, "72"),
        ({"type": "numeric"}, 1889.5, "1,889.50"),
        ({"type": "categorical"}, "Month-to-month", "Month-to-month"),
        ({"type": "categorical"}, None, "missing"),
    ],
)
def test_display_value(feature, value, expected):
    assert views.display_value(feature, value) == expected


def test_caption_names_probability_and_top_reason(bundle, store):
    ids, _ = champion_predictions(bundle)
    view = views.build_customer_view(bundle, store, str(ids[10]))
    # The same number as the probability metric, and the strongest reason in words and units.
    assert f"{view.probability:.1%} chance of churning" in view.caption
    top = view.reasons[0]
    assert abs(top.effect) == max(abs(e) for e in view.effects.values())
    assert f"{top.text} ({top.effect_text})" in view.caption


def test_unknown_and_malformed_ids_raise_user_errors(bundle, store):
    ids, _ = champion_predictions(bundle)
    with pytest.raises(UnknownCustomer):
        views.build_customer_view(bundle, store, str(int(ids.max()) + 1) if ids.dtype.kind == "i" else "zz-none")
    with pytest.raises(MalformedCustomerId):
        views.build_customer_view(bundle, store, "x" * 500)
    with pytest.raises(MalformedCustomerId):
        views.build_customer_view(bundle, store, "   ")


def test_metrics_table_has_every_model_champion_first(bundle):
    manifest = bundle.manifest
    table = views.build_metrics_table(manifest)
    order = model_names(manifest)
    assert list(table["Model"]) == [manifest["models"][m]["display_name"] for m in order]
    assert table["Champion"].iloc[0] != "" and (table["Champion"].iloc[1:] == "").all()
    for (_, row), model in zip(table.iterrows(), order, strict=True):
        metrics = manifest["models"][model]["metrics"]
        for key, title in views.METRIC_COLUMNS.items():
            assert row[title] == pytest.approx(metrics[key])
        assert row[views.TRAINING_TIME] == pytest.approx(manifest["models"][model]["training_seconds"])


def test_metrics_table_tolerates_a_missing_metric(bundle):
    manifest = {**bundle.manifest, "models": {k: dict(v) for k, v in bundle.manifest["models"].items()}}
    champion = manifest["champion"]
    manifest["models"][champion]["metrics"] = {
        k: v for k, v in manifest["models"][champion]["metrics"].items() if k != "brier"
    }
    table = views.build_metrics_table(manifest)
    assert math.isnan(table["Brier"].iloc[0])

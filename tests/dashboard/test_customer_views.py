"""Customer page data on the real test bundle: reasons, ICE, levers, similar, find, LIME."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.effects import MAX_REASONS, format_effect
from bundle import layout
from bundle.manifest import model_names
from bundle.models import load_runtime
from dashboard.views import build_customer_view
from dashboard.views.customer.levers import actionable_features, build_levers
from dashboard.views.customer.lime_check import explain_lime
from dashboard.views.customer.similar import ANY, find_customers
from dashboard.views.customer.whatif import (
    build_ice,
    build_whatif,
    customer_frame,
    feature_domains,
    load_background,
    population,
)
from runtime import sigmoid
from store.customers import CustomerStore


@pytest.fixture(scope="module")
def store(telco_bundle) -> CustomerStore:
    return CustomerStore(telco_bundle)


@pytest.fixture(scope="module")
def background(telco_bundle):
    return load_background(telco_bundle, [f["name"] for f in telco_bundle.manifest["features"]])


def test_reason_effects_are_shap_times_the_calibration_slope(telco_bundle, store):
    for model in model_names(telco_bundle.manifest):
        view = build_customer_view(telco_bundle, store, store.customer_id(11), model=model)
        slope = telco_bundle.manifest["models"][model]["calibration"]["slope"]
        assert view.model == model
        for reason in view.reasons:
            assert reason.effect == pytest.approx(slope * reason.shap, rel=1e-12)
            assert reason.effect_text == format_effect(reason.effect)
        assert all(r.effect > 0 for r in view.raising) and all(r.effect < 0 for r in view.lowering)
        assert set(view.raising) | set(view.lowering) == set(view.reasons)
        assert 0 < len(view.reasons) <= MAX_REASONS
        sizes = [abs(r.effect) for r in view.reasons]
        assert sizes == sorted(sizes, reverse=True)
        assert sizes[-1] >= max(abs(e) for n, e in view.effects.items() if n not in {r.feature for r in view.reasons})
        # The effects add up, from the calibrated baseline, to the probability shown.
        total = view.calibration.log_odds(view.base_value) + sum(view.effects.values())
        assert float(sigmoid(total)) == pytest.approx(view.probability, abs=1e-6)
        assert view.average_probability == pytest.approx(float(np.mean(store.probabilities(model))))
        assert view.churn_rate == telco_bundle.manifest["dataset"]["label_rate"]


def test_the_safest_customer_reads_as_least_risky(telco_bundle, store):
    model = telco_bundle.manifest["champion"]
    safest = int(np.argmin(store.probabilities(model)))
    view = build_customer_view(telco_bundle, store, store.customer_id(safest))
    assert view.band == "low"
    assert "least risky" in view.caption


def test_whatif_matches_a_fresh_runtime_score(telco_bundle, store):
    model = telco_bundle.manifest["champion"]
    runtime = load_runtime(telco_bundle, model)
    view = build_customer_view(telco_bundle, store, store.customer_id(0))
    edits = {"tenure": 70.0, "contract": "Two year"}
    result = build_whatif(runtime, telco_bundle.manifest, view.raw_features, edits, view.probability)
    expected = runtime.probability(customer_frame({**view.raw_features, **edits}, runtime.features))[0]
    assert result.probability == pytest.approx(expected)
    # The new waterfall walks from the calibrated base value to the new calibrated log-odds.
    calibration = runtime.calibration
    assert telco_bundle.manifest["models"][model]["calibration"]["method"] == "platt"
    assert result.waterfall.loc[result.waterfall["rank"].idxmin(), "end"] == pytest.approx(
        float(calibration.log_odds(result.margin)), abs=calibration.slope * layout.LOCAL_ACCURACY_TOLERANCE
    )


def test_ice_curve_passes_through_the_customer(telco_bundle, store, background):
    model = telco_bundle.manifest["champion"]
    runtime = load_runtime(telco_bundle, model)
    domains = feature_domains(telco_bundle, store)
    view = build_customer_view(telco_bundle, store, store.customer_id(3))
    pop = population(telco_bundle.manifest, background)
    ice = build_ice(runtime, telco_bundle.manifest, view.raw_features, "contract", domains["contract"], pop)
    row = ice.curves.set_index("x").loc[view.raw_features["contract"]]
    assert row["customer"] == pytest.approx(view.probability, abs=1e-9)
    assert (ice.curves["band_low"] <= ice.curves["band_high"]).all()
    numeric = build_ice(runtime, telco_bundle.manifest, view.raw_features, "tenure", domains["tenure"], pop)
    assert numeric.curves["x"].is_monotonic_increasing and not numeric.categorical
    # The band's mean is the partial dependence: the background's average probability at that value.
    first = numeric.curves.iloc[0]
    rows = background.assign(tenure=first["x"])
    assert first["band_mid"] == pytest.approx(float(runtime.probability(rows).mean()))


def test_levers_change_only_actionable_features_and_lower_risk(telco_bundle, store):
    manifest = telco_bundle.manifest
    model = manifest["champion"]
    runtime = load_runtime(telco_bundle, model)
    domains = feature_domains(telco_bundle, store)
    riskiest = int(np.argmax(store.probabilities(model)))
    view = build_customer_view(telco_bundle, store, store.customer_id(riskiest))
    levers = build_levers(runtime, manifest, store, model, view.raw_features, view.probability, domains)
    allowed = set(actionable_features(manifest))
    assert allowed and {"tenure", "senior_citizen", "female"}.isdisjoint(allowed)
    assert len(levers) > 0
    previous = -1.0
    for _, lever in levers.iterrows():
        assert set(lever["edits"]) <= allowed and 1 <= len(lever["edits"]) <= 2
        p = float(runtime.probability(customer_frame({**view.raw_features, **lever["edits"]}, runtime.features))[0])
        assert p < view.probability and p >= previous - 1e-12
        previous = p
        assert lever["Similar-risk customers with it"] >= 0
    _check_observed_churn_of_lever_holders(telco_bundle, model, view.probability, levers)


def _check_observed_churn_of_lever_holders(bundle, model: str, probability: float, levers) -> None:
    """Count and churn rate of same-band customers who already have each lever, recomputed from the
    bundle's own Parquet files with pandas."""
    customers = pd.read_parquet(bundle.file(layout.CUSTOMERS))
    scores = pd.read_parquet(bundle.file(layout.predictions_path(model)))[layout.PROBABILITY_COLUMN].to_numpy()
    cuts = bundle.manifest["models"][model]["risk_bands"]
    band = np.where(scores >= cuts["high"], 2, np.where(scores >= cuts["medium"], 1, 0))
    own = 2 if probability >= cuts["high"] else 1 if probability >= cuts["medium"] else 0
    for _, lever in levers.iterrows():
        holders = band == own
        for name, value in lever["edits"].items():
            column = customers[name]
            holders &= np.isclose(column.astype(float), value) if isinstance(value, float) else (column == value)
        assert lever["Similar-risk customers with it"] == int(holders.sum())
        expected = f"{customers[layout.LABEL_COLUMN][holders].mean():.1%}" if holders.any() else "–"
        assert lever["Churned among them"] == expected


def test_levers_only_make_customers_that_exist(telco_bundle, store):
    """No add-on for a customer without internet; every suggested combination is held by some customer."""
    manifest = telco_bundle.manifest
    model = manifest["champion"]
    runtime = load_runtime(telco_bundle, model)
    domains = feature_domains(telco_bundle, store)
    kinds = {f["name"]: f["type"] for f in manifest["features"]}
    offline = np.flatnonzero(store.feature_column("internet_service") == "No")
    assert len(offline) > 0
    riskiest_offline = int(offline[np.argmax(store.probabilities(model)[offline])])
    view = build_customer_view(telco_bundle, store, store.customer_id(riskiest_offline))
    suggested = build_levers(runtime, manifest, store, model, view.raw_features, view.probability, domains, top=50)
    add_ons = {
        "online_security",
        "tech_support",
        "online_backup",
        "device_protection",
        "streaming_tv",
        "streaming_movies",
    }
    for edits in suggested["edits"]:
        assert all(edits[f] == "No internet service" for f in add_ons & set(edits)), edits
        after = {**view.raw_features, **edits}
        for f in edits:
            for g in (g for g, kind in kinds.items() if kind != "numeric" and g != f):
                both = (store.feature_column(f) == after[f]) & (store.feature_column(g) == after[g])
                assert both.any(), (f, after[f], g, after[g])
    # Without the check, the model would happily suggest security for this customer:
    unchecked = {(n, v) for n in add_ons for v in domains[n].choices if v != view.raw_features[n]}
    assert ("online_security", "Yes") in unchecked


def test_similar_customers_are_the_nearest_shap_vectors(telco_bundle, store):
    model = telco_bundle.manifest["champion"]
    positions, distances = store.nearest(model, 5, 5)
    matrix = np.column_stack([store.shap_row(model, i) for i in range(len(store))]).T.astype(np.float32)
    brute = np.linalg.norm(matrix - matrix[5], axis=1)
    brute[5] = np.inf
    assert 5 not in positions
    assert np.allclose(np.sort(brute)[:5], distances, atol=1e-5)
    assert list(distances) == sorted(distances)


def test_find_pages_cover_every_match_once(telco_bundle, store):
    manifest = telco_bundle.manifest
    model = manifest["champion"]
    first = find_customers(store, manifest, model, "high", ANY, page=1, page_size=10)
    seen = []
    for page in range(1, first.pages + 1):
        seen += find_customers(store, manifest, model, "high", ANY, page=page, page_size=10).rows["Customer"].tolist()
    cutoff = manifest["models"][model]["risk_bands"]["high"]
    expected = {str(store.customer_id(i)) for i in np.flatnonzero(store.probabilities(model) >= cutoff)}
    assert len(seen) == len(set(seen)) == first.total and set(seen) == expected
    assert find_customers(store, manifest, model, "high", ANY, page=999, page_size=10).page == first.pages
    with pytest.raises(ValueError):
        find_customers(store, manifest, model, "<b>", ANY)


def test_lime_is_deterministic_for_a_fixed_seed(telco_bundle, store, background):
    model = telco_bundle.manifest["champion"]
    runtime = load_runtime(telco_bundle, model)
    view = build_customer_view(telco_bundle, store, store.customer_id(2))
    one = explain_lime(runtime, telco_bundle.manifest, view.raw_features, background, samples=1000, seed=7)
    two = explain_lime(runtime, telco_bundle.manifest, view.raw_features, background, samples=1000, seed=7)
    other = explain_lime(runtime, telco_bundle.manifest, view.raw_features, background, samples=1000, seed=8)
    assert one.weights == two.weights
    assert one.weights != other.weights
    assert set(one.weights) == set(runtime.features) and one.samples == 1000 and one.seconds > 0


def test_manifest_carries_the_specs_actionable_flags(telco_bundle, telco_spec):
    import copy

    from bundle.manifest import manifest_problems

    manifest = telco_bundle.manifest
    assert {f["name"]: f["actionable"] for f in manifest["features"]} == {
        f.name: f.actionable for f in telco_spec.features
    }
    broken = copy.deepcopy(manifest)
    broken["features"][0]["actionable"] = "yes"
    assert "'features[0].actionable' should be true or false" in manifest_problems(broken)
    del broken["features"][0]["actionable"]  # optional: older bundles have none
    assert manifest_problems(broken) == []

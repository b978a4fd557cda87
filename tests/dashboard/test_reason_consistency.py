"""One reason, one number: the card, the sentence, the waterfall, the details table, the what-if
waterfall and both exports give the same effect for every reason of a customer, under every model,
for 200 random customers per model plus every customer above 99 % or below 1 % (and at least the
five riskiest and five safest, so the extremes are always covered).

The effect is checked against an independent computation from the bundle's stored files (SHAP
values × the manifest's calibration slope), and its printed odds factor against exp(effect), so no
reason can read "×1.00" while its SHAP value is large."""

from __future__ import annotations

import csv
import io
import math
import re

import numpy as np
import pyarrow.parquet as pq
import pytest

from analytics.effects import MAX_REASONS, format_effect
from bundle import layout
from bundle.models import load_runtime
from dashboard.views.customer.report import customer_report, explanation_csv
from dashboard.views.customer.view import OTHER, build_customer_view
from dashboard.views.customer.whatif import build_whatif
from runtime import sigmoid
from store.customers import CustomerStore

RANDOM_CUSTOMERS = 200
_FACTOR = re.compile(r"^odds ([×÷])([\d,]+(?:\.\d+)?)$")


@pytest.fixture(scope="module")
def store(telco_bundle) -> CustomerStore:
    return CustomerStore(telco_bundle)


def chosen_positions(probabilities: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    order = np.argsort(probabilities, kind="stable")
    extremes = np.flatnonzero((probabilities > 0.99) | (probabilities < 0.01))
    picked = rng.choice(len(probabilities), size=min(RANDOM_CUSTOMERS, len(probabilities)), replace=False)
    return np.unique(np.concatenate([picked, extremes, order[:5], order[-5:]]))


def printed_log_factor(text: str) -> float:
    """ "odds ×3.10" → log(3.10); "odds ÷2.00" → −log(2.00)."""
    match = _FACTOR.match(text)
    assert match, f"effect {text!r} is not an odds factor"
    value = math.log(float(match.group(2).replace(",", "")))
    return value if match.group(1) == "×" else -value


def check_printed(text: str, effect: float) -> None:
    assert text == format_effect(effect)
    # Two decimals (or three significant digits) of exp(|effect|): never "×1.00" for a real push.
    assert abs(printed_log_factor(text) - effect) <= 0.005 + 0.005 * abs(effect)


def test_every_surface_gives_each_reason_the_same_effect(telco_bundle, store):
    manifest = telco_bundle.manifest
    names = [f["name"] for f in manifest["features"]]
    checked = 0
    for seed, model in enumerate(manifest["models"]):
        slope = manifest["models"][model]["calibration"]["slope"]
        shap_table = pq.read_table(telco_bundle.file(layout.shap_path(model))).to_pandas()
        positions = chosen_positions(np.asarray(store.probabilities(model)), seed)
        for position in positions:
            view = build_customer_view(telco_bundle, store, store.customer_id(int(position)), model=model)
            stored = shap_table.iloc[int(position)]
            assert stored[layout.ID_COLUMN] == view.customer_id
            _check_customer(manifest, view, {n: slope * float(stored[n]) for n in names})
            checked += 1
    assert checked >= len(manifest["models"]) * min(RANDOM_CUSTOMERS, len(store))


def _check_customer(manifest, view, expected: dict[str, float]) -> None:
    assert view.effects == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert 0 < len(view.reasons) <= MAX_REASONS
    waterfall = view.waterfall.set_index("feature")
    details = view.features.set_index("Feature")
    exported = {row["feature"]: row for row in csv.DictReader(io.StringIO(_csv(manifest, view)))}
    report = _report(view)
    labels = {f["name"]: f.get("label") or f["name"] for f in manifest["features"]}
    for reason in view.reasons:
        check_printed(reason.effect_text, expected[reason.feature])
        text = f"{reason.text} ({reason.effect_text})"
        assert text in view.caption  # the sentence
        assert reason in (view.raising if reason.effect > 0 else view.lowering)  # the card
        assert waterfall.loc[reason.feature, "effect_text"] == reason.effect_text
        assert waterfall.loc[reason.feature, "effect"] == pytest.approx(reason.effect, rel=1e-12)
        assert details.loc[labels[reason.feature], "Effect"] == reason.effect_text
        assert exported[reason.feature]["effect"] == reason.effect_text
        assert float(exported[reason.feature]["effect_log_odds"]) == pytest.approx(reason.effect, rel=1e-9)
        assert exported[reason.feature]["reason_code"] == reason.code
        assert f"{reason.text} <b>{reason.effect_text}</b>" in report
    # The waterfall walks from the calibrated baseline to the probability shown.
    first = view.waterfall.loc[view.waterfall["rank"].idxmax(), "start"]
    last = view.waterfall.loc[view.waterfall["rank"].idxmin(), "end"]
    assert float(sigmoid(first)) == pytest.approx(view.base_probability, abs=1e-9)
    assert float(sigmoid(last)) == pytest.approx(view.probability, abs=1e-6)
    assert set(view.waterfall["feature"]) - {OTHER} <= set(expected)


def _csv(manifest, view) -> str:
    return explanation_csv(manifest, view.raw_features, view.effects, None)


def _report(view) -> str:
    return customer_report(view, "b", "r", charts={})


def test_the_whatif_waterfall_without_edits_is_the_why_waterfall(telco_bundle, store):
    for model in telco_bundle.manifest["models"]:
        runtime = load_runtime(telco_bundle, model)
        probabilities = np.asarray(store.probabilities(model))
        for position in (int(np.argmax(probabilities)), int(np.argmin(probabilities)), 0):
            view = build_customer_view(telco_bundle, store, store.customer_id(position), model=model)
            whatif = build_whatif(runtime, telco_bundle.manifest, view.raw_features, {}, view.probability)
            assert whatif.probability == pytest.approx(view.probability, abs=1e-9)
            mine = view.waterfall.set_index("feature")
            theirs = whatif.waterfall.set_index("feature")
            assert list(theirs.index) == list(mine.index)
            assert list(theirs["effect_text"]) == list(mine["effect_text"])


def test_the_riskiest_customer_still_has_readable_reasons(telco_bundle, store):
    """Where the probability is near 100 %, a percentage-point effect vanishes; an odds factor does not."""
    for model in telco_bundle.manifest["models"]:
        riskiest = int(np.argmax(np.asarray(store.probabilities(model))))
        view = build_customer_view(telco_bundle, store, store.customer_id(riskiest), model=model)
        top = view.reasons[0]
        assert top.effect > 0 and abs(printed_log_factor(top.effect_text)) > 0.1
        assert "What raises it most" in view.caption and "small" not in view.caption

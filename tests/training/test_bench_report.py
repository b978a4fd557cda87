"""bench/report.py merges figures; bench/training_stages.py reads the PDP stage from a bundle."""

from __future__ import annotations

import json

from bench import report, training_stages


def test_record_merges_flat_keys_without_losing_others(tmp_path):
    path = tmp_path / "out" / "bench.json"
    report.record({"shap_ratio": 1.1}, path)
    merged = report.record({"pdp_stage_s": 12.5, "shap_ratio": 1.05}, path)
    assert merged == {"shap_ratio": 1.05, "pdp_stage_s": 12.5}
    assert json.loads(path.read_text()) == merged


def test_pdp_stage_figure_comes_from_the_bundle_timings(telco_bundle):
    figures = training_stages.measure(telco_bundle)
    timings = telco_bundle.manifest["timings"]
    assert figures["pdp_stage_s"] == timings["partial dependence"]
    assert 0 < figures["pdp_stage_share"] < 1

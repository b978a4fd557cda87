"""Altair builders produce the specs the pages rely on."""

from __future__ import annotations

import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from bundle import layout
from dashboard import views
from dashboard.charts import customer as charts
from dashboard.charts import models as model_charts
from store.customers import CustomerStore
from tests.dashboard.dashboard_helpers import REPO_ROOT, champion_predictions, telco


@pytest.fixture(scope="module")
def bundle(bundle_root):
    return telco(bundle_root)


@pytest.fixture(scope="module")
def view(bundle):
    ids, _ = champion_predictions(bundle)
    return views.build_customer_view(bundle, CustomerStore(bundle), str(ids[0]))


@pytest.fixture(scope="module")
def curves(bundle):
    return pq.read_table(bundle.file(layout.CURVES)).to_pandas()


def _layer_using(spec: dict, mark: str) -> dict:
    for layer in spec["layer"]:
        kind = layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
        if kind == mark:
            return layer
    raise AssertionError(f"no {mark} layer")


def test_waterfall_bars_span_start_to_end_colored_by_direction(view):
    spec = charts.waterfall_chart(view.waterfall).to_dict()
    bars = _layer_using(spec, "bar")
    enc = bars["encoding"]
    assert enc["x"]["field"] == "start" and enc["x2"]["field"] == "end"
    assert enc["color"]["scale"]["domain"] == [views.INCREASES, views.DECREASES]
    assert enc["color"]["scale"]["range"][0].lower() == "#d62728"  # red = raises risk
    assert enc["y"]["field"] == "reason"
    assert enc["y"]["sort"] == {"field": "rank", "order": "ascending"}
    assert {t["field"] for t in enc["tooltip"]} >= {"label", "value", "effect_text"}
    assert "exp(" in enc["x"]["axis"]["labelExpr"]  # log-odds ticks written as probabilities
    assert enc["color"]["legend"]["labelLimit"] == 0  # "decreases risk" is never clipped


def test_waterfall_bars_are_labelled_with_the_effect_the_card_shows(view):
    spec = charts.waterfall_chart(view.waterfall).to_dict()
    text = _layer_using(spec, "text")
    assert text["encoding"]["text"]["field"] == "effect_text"
    rows = next(v for v in spec["datasets"].values() if v and "effect_text" in v[0])
    by_feature = {r["feature"]: r["effect_text"] for r in rows}
    for reason in view.reasons:
        assert by_feature[reason.feature] == reason.effect_text


def test_waterfall_data_has_one_row_per_reason(view):
    spec = charts.waterfall_chart(view.waterfall).to_dict()
    bars = _layer_using(spec, "bar")
    rows = spec["datasets"][bars["data"]["name"]] if "data" in bars else None
    rows = rows or next(v for v in spec["datasets"].values() if v and "reason" in v[0])
    assert [r["reason"] for r in rows] == list(view.waterfall["reason"])


def test_waterfall_marks_average_and_this_customer(view):
    spec = charts.waterfall_chart(view.waterfall).to_dict()
    texts = [r["text"] for rows in spec["datasets"].values() for r in rows if isinstance(r.get("text"), str)]
    # Same format as the page's probability metric.
    assert f"this customer {view.probability:.1%}" in texts
    assert f"baseline {view.base_probability:.1%}" in texts


def test_roc_chart_has_a_line_per_model_and_a_diagonal(bundle, curves):
    names = views.model_display_names(bundle.manifest)
    spec = model_charts.roc_chart(curves, names).to_dict()
    lines = [layer for layer in spec["layer"] if layer["mark"]["type"] == "line"]
    assert len(lines) == 2
    datasets = list(spec["datasets"].values())
    curve_rows = next(rows for rows in datasets if rows and "Model" in rows[0])
    assert {r["Model"] for r in curve_rows} == set(names.values())
    assert {r["curve"] for r in curve_rows} == {"roc"}
    diagonal = next(rows for rows in datasets if rows and "Model" not in rows[0])
    assert [(r["x"], r["y"]) for r in diagonal] == [(0.0, 0.0), (1.0, 1.0)]


def test_pr_chart_plots_only_pr_points(bundle, curves):
    spec = model_charts.pr_chart(curves, views.model_display_names(bundle.manifest)).to_dict()
    rows = next(rows for rows in spec["datasets"].values() if rows and "Model" in rows[0])
    assert {r["curve"] for r in rows} == {"pr"}
    assert len(rows) == int((curves["curve"] == "pr").sum())


def test_charts_and_views_do_not_need_streamlit():
    code = (
        "import sys; import dashboard.charts.customer, dashboard.views; "
        "assert 'streamlit' not in sys.modules, 'streamlit imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_servers_draw_charts_without_schema_validation_and_tests_keep_it(monkeypatch):
    import altair as alt
    import pandas as pd
    from altair.utils.schemapi import SchemaValidationError

    from dashboard.shell import draw

    def broken() -> alt.Chart:  # a spec Vega-Lite's schema refuses (a width is a number, "container" or a step)
        chart = alt.Chart(pd.DataFrame({"a": [1]})).mark_point().encode(x=alt.X("a:Q"))
        chart["width"] = "huge"
        return chart

    import streamlit as st

    # Streamlit itself still validates every chart it is given: were an upgrade to stop that,
    # dashboard/shell/draw.py's trick would be dead weight (remove it).
    with pytest.raises(SchemaValidationError):
        st.altair_chart(broken())
    monkeypatch.setenv(draw.VALIDATE_ENV, "1")
    with pytest.raises(SchemaValidationError):
        draw.altair_chart(broken())
    monkeypatch.delenv(draw.VALIDATE_ENV)
    chart = broken()
    # A server: drawn as built, no validation pass. Fails loudly if an upgrade makes Streamlit
    # build the spec some way other than the chart's own `to_dict()`.
    draw.altair_chart(chart)
    assert chart.to_dict()["width"] == "huge"

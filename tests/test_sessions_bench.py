"""The sessions bench's websocket client sees what a browser would: real pages of a real
`streamlit run` server, judged by the elements they draw (bench/sessions.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench import sessions
from bench.server import dashboard_server
from bundle import layout
from bundle.reader import open_bundle


@pytest.fixture(scope="module")
def served(bundle_root: Path, tmp_path_factory):
    """(url, server pid, Telco customer IDs) of one server over the shared Telco test bundle."""
    ids = pq.read_table(open_bundle(bundle_root / "telco").file(layout.CUSTOMERS), columns=[layout.ID_COLUMN])
    with dashboard_server(bundle_root, tmp_path_factory.mktemp("sessions") / "server.log") as (url, proc):
        yield url, proc.pid, [str(i) for i in ids.column(0).to_pylist()]


def _open(url: str, path: str, query: str, marker: str | None) -> sessions.PageRun:
    return asyncio.run(sessions.open_page(url, path, query, marker, timeout=120.0))


def test_a_known_customer_draws_the_probability_metric(served):
    url, _, ids = served
    run = _open(url, "", f"bundle=telco&customer={ids[0]}", "metric")
    assert run.error is None, (run.error, run.exceptions, run.alerts)
    labels = dict(run.metrics)
    assert labels["Churn probability"].endswith("%")
    assert {"Risk band", "Risk rank", "Actual outcome"} <= labels.keys()
    assert run.elements["vega_lite_chart"] >= 1 and not run.exceptions
    assert run.ms > 0


def test_an_unknown_customer_is_a_warning_and_counts_as_a_missing_marker(served):
    url, _, _ = served
    run = _open(url, "", "bundle=telco&customer=no-such-customer", "metric")
    assert run.finished == ForwardMsg.FINISHED_SUCCESSFULLY and not run.exceptions
    assert any(kind == "WARNING" and "no\\-such\\-customer" in body for kind, body in run.alerts), run.alerts
    assert run.error == "no metric element"


def test_pages_are_chosen_by_url_path_and_an_unknown_one_is_an_error(served):
    url, _, _ = served
    validation = _open(url, "validation", "bundle=telco", "table")
    assert validation.error is None and validation.elements["table"] == 1, validation.error
    assert "Churn probability" not in dict(validation.metrics)
    missing = _open(url, "no-such-page", "bundle=telco", None)
    assert missing.page_not_found and missing.error == "page not found"


def test_an_exception_element_is_counted():
    # What Streamlit sends for an uncaught exception (shown as stException in a browser).
    msg = ForwardMsg()
    msg.delta.new_element.exception.type = "ValueError"
    msg.delta.new_element.exception.message = "boom"
    done = ForwardMsg()
    done.script_finished = ForwardMsg.FINISHED_SUCCESSFULLY
    run = sessions.PageRun()
    assert not sessions.read_message(run, msg.SerializeToString())
    assert sessions.read_message(run, done.SerializeToString())
    assert run.judge(None).error == "exception shown" and run.exceptions == ["ValueError: boom"]


def test_concurrent_sessions_load_pages_without_errors_and_report_flat_keys(served):
    url, pid, ids = served
    targets = sessions.Targets("telco", ids[:50])
    load = {"sessions": 2, "seconds": 4.0, **asyncio.run(sessions._run(url, targets, 2, 4.0, pid))}
    assert load["errors"] == 0, load["error_kinds"]
    assert load["loads"] >= 2 and load["p95_ms"] >= load["p50_ms"] > 0
    assert set(load["rss_mb"]) == {1, 2} and all(mb > 50 for mb in load["rss_mb"].values())
    keys = sessions.figures(load)
    assert {
        "sessions2_p95_ms",
        "sessions2_errors",
        "sessions2_page_loads",
        "rss_mb_1_session",
        "rss_mb_2_sessions",
    } <= keys.keys()
    assert all(not isinstance(v, (dict, list, tuple)) for v in keys.values())

"""bench/report.py merges figures into one flat JSON object."""

from __future__ import annotations

import json

from bench import report


def test_figures_merge_and_later_values_win(tmp_path):
    target = tmp_path / "out" / "bench.json"
    report.record({"sessions20_p95_ms": 900.0, "sessions20_errors": 0}, target)
    merged = report.record({"sessions20_p95_ms": 850.5, "rss_mb_20_sessions": 310.2}, target)
    assert merged == json.loads(target.read_text()) == {
        "sessions20_p95_ms": 850.5, "sessions20_errors": 0, "rss_mb_20_sessions": 310.2,
    }  # fmt: skip
    assert [p.name for p in target.parent.iterdir()] == ["bench.json"]  # no temporary file left


def test_an_unreadable_file_is_replaced_not_fatal(tmp_path):
    target = tmp_path / "bench.json"
    target.write_text("[1, 2")
    assert report.record({"x": 1}, target) == {"x": 1}

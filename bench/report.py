"""`test-output/bench.json`: every benchmark's figures as flat keys.

Each benchmark records its own keys; a key once published keeps its name and
meaning, so runs can be compared over time. Values are numbers (or strings for
context such as the bundle run), never nested.
"""

from __future__ import annotations

import json
from pathlib import Path

REPORT = Path(__file__).resolve().parents[1] / "test-output" / "bench.json"


def record(figures: dict[str, float | int | str], path: Path = REPORT) -> None:
    """Merge `figures` into the report, keeping keys other benchmarks wrote."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        current = {}
    if not isinstance(current, dict):
        current = {}
    for key, value in figures.items():
        if isinstance(value, (dict, list, tuple)):
            raise TypeError(f"bench figure {key!r} must be flat, got {type(value).__name__}")
    current.update(figures)
    path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")

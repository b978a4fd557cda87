"""Benchmark figures as flat keys in test-output/bench.json (merged, never replaced)."""

from __future__ import annotations

import json
from pathlib import Path

BENCH_JSON = Path(__file__).resolve().parents[1] / "test-output" / "bench.json"


def record(figures: dict, path: Path = BENCH_JSON) -> dict:
    """Merge `figures` into the JSON file at `path`; returns everything it now holds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        current = json.loads(path.read_text())
    except (OSError, ValueError):
        current = {}
    current = {**(current if isinstance(current, dict) else {}), **figures}
    path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    return current

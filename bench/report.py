"""Benchmarks record their figures as flat keys in test-output/bench.json (merged, never overwritten whole)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

BENCH_JSON = Path(__file__).resolve().parents[1] / "test-output" / "bench.json"


def record(figures: dict[str, float | int | str], path: Path = BENCH_JSON) -> dict:
    """Merge `figures` into the JSON object at `path` (atomically: a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        current = json.loads(path.read_text())
        if not isinstance(current, dict):
            current = {}
    except (OSError, ValueError):
        current = {}
    current.update(figures)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".bench-", suffix=".json")
    with os.fdopen(handle, "w") as out:
        json.dump(current, out, indent=2, sort_keys=True)
    os.replace(tmp, path)
    return current

"""`test-output/bench.json`: every benchmark's figures as flat keys.

Each benchmark records its own keys (merged, never overwritten whole); a key
once published keeps its name and meaning, so runs can be compared over time.
Values are numbers, or strings for context such as the bundle run; never nested.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

BENCH_JSON = Path(__file__).resolve().parents[1] / "test-output" / "bench.json"
REPORT = BENCH_JSON


def record(figures: Mapping[str, float | int | str], path: Path = BENCH_JSON) -> dict:
    """Merge `figures` into the JSON object at `path` (atomically: a reader never sees half a file)."""
    for key, value in figures.items():
        if isinstance(value, (dict, list, tuple)):
            raise TypeError(f"bench figure {key!r} must be flat, got {type(value).__name__}")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
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


def record_and_print(figures: dict) -> None:
    """Merge `figures` into BENCH_JSON and print each key with its value (the scale benches' output)."""
    record(figures)
    for key, value in figures.items():
        print(f"  {key:40} {value}")
    print(f"Figures written to {BENCH_JSON}")

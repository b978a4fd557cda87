"""Flat benchmark figures in test-output/bench.json, merged key by key across benchmarks."""

from __future__ import annotations

import json
from pathlib import Path

BENCH_JSON = Path("test-output") / "bench.json"


def record(figures: dict, path: Path = BENCH_JSON) -> None:
    """Merge `figures` (flat name → number) into the JSON file, keeping keys written by others."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = {}
    current = current if isinstance(current, dict) else {}
    current.update(figures)
    path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")

"""Benchmark figures as flat JSON in test-output/bench.json: each benchmark merges its keys in."""

from __future__ import annotations

import json
from pathlib import Path

BENCH_JSON = Path("test-output") / "bench.json"


def record(figures: dict, path: Path = BENCH_JSON) -> None:
    """Merge flat {key: number} figures into the JSON file (keys keep their names across runs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    current = json.loads(path.read_text()) if path.exists() else {}
    current.update(figures)
    path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")

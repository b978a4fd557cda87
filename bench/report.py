"""Benchmark figures as flat keys in `test-output/bench.json`, merged with what is already there."""

from __future__ import annotations

import json
from pathlib import Path

BENCH_FILE = Path(__file__).resolve().parents[1] / "test-output" / "bench.json"


def record(figures: dict, path: Path = BENCH_FILE) -> Path:
    """Merge `figures` (flat key -> number) into the bench file; other keys are kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
        current = current if isinstance(current, dict) else {}
    except (OSError, json.JSONDecodeError):
        current = {}
    current.update(figures)
    path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path

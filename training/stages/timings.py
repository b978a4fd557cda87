"""Seconds and peak memory per stage (the pipeline records both in the manifest), and a progress
line per stage with an estimate of the time left.

The estimate scales the previous run's stage seconds (the live bundle's manifest `timings`)
by how this run compares so far: after stages that took 30 s here and 20 s last time,
the remaining stages are expected to take 1.5× their previous seconds. With no previous
run there is no estimate, only the stage count and the time spent. On a terminal the
progress is a tqdm bar (log lines print above it); otherwise, in logs and CI, it is one
plain log line per stage start and end.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bundle import layout
from training.memory import StageMemory
from training.stages.heartbeat import Heartbeat, duration

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger("training")


def previous_timings(bundle_dir: Path) -> dict[str, float]:
    """The stage seconds of the bundle published at `bundle_dir`, or {} (none, unreadable, older)."""
    try:
        manifest = json.loads((bundle_dir / layout.MANIFEST).read_text(encoding="utf-8"))
        timings = manifest.get("timings") or {}
        return {str(k): float(v) for k, v in timings.items() if isinstance(v, int | float) and v >= 0}
    except (OSError, ValueError, AttributeError):
        return {}


class Progress:
    """Stage n of N, the time spent and the estimated time left; a bar on a terminal."""

    def __init__(self, previous: dict[str, float] | None = None, stream: TextIO | None = None) -> None:
        self.previous = dict(previous or {})
        self.done: dict[str, float] = {}
        self._started = time.perf_counter()
        self._bar: Any = None
        self._redirect: AbstractContextManager[None] | None = None
        stream = stream or sys.stderr
        if stream.isatty():
            from tqdm import tqdm
            from tqdm.contrib.logging import logging_redirect_tqdm

            self._bar = tqdm(
                total=len(self.previous) or None,
                file=stream,
                unit="stage",
                dynamic_ncols=True,
                bar_format="{desc} {bar} {n_fmt}/{total_fmt} stages [{elapsed}{postfix}]",
            )
            # Log lines go through the bar's write(), so they print above it instead of through it.
            self._redirect = logging_redirect_tqdm(loggers=[logging.getLogger()])
            self._redirect.__enter__()

    def _position(self) -> str:
        count = len(self.done) + 1
        total = len(set(self.previous) | set(self.done))
        return f"stage {count}/{total}" if self.previous and count <= total else f"stage {count}"

    def left(self) -> float | None:
        """Seconds the remaining stages should take, from the previous run's; None without one."""
        known = [name for name in self.done if name in self.previous]
        remaining = sum(seconds for name, seconds in self.previous.items() if name not in self.done)
        if not self.previous or not known:
            return sum(self.previous.values()) if self.previous and not self.done else None
        before = sum(self.previous[name] for name in known)
        ratio = sum(self.done[name] for name in known) / before if before > 0 else 1.0
        return ratio * remaining

    def started(self, name: str) -> None:
        if self._bar is not None:
            self._bar.set_description_str(name)
        log.info("%s: %s …", self._position(), name)

    def finished(self, name: str, seconds: float, peak_mb: float) -> None:
        self.done[name] = seconds
        left = self.left()
        after = f"; about {duration(left)} left" if left is not None else ""
        spent = time.perf_counter() - self._started
        log.info("%s done in %.1f s (driver peak %.0f MB), %s so far%s", name, seconds, peak_mb, duration(spent), after)
        if self._bar is not None:
            self._bar.set_postfix_str(f"about {duration(left)} left" if left is not None else "", refresh=False)
            self._bar.update(1)

    def close(self) -> None:
        if self._redirect is not None:
            self._redirect.__exit__(None, None, None)
            self._redirect = None
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class Timings(dict):
    """Seconds per stage; `memory` holds each stage's peak memory (training/memory.py)."""

    def __init__(
        self, spark: SparkSession | None = None, previous: dict[str, float] | None = None, stream: TextIO | None = None
    ) -> None:
        super().__init__()
        self.memory: dict[str, dict] = {}
        self._meter = StageMemory(spark)
        self._spark = spark
        self.progress = Progress(previous, stream)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.progress.started(name)
        self._meter.start()
        started = time.perf_counter()
        if self._spark is None:
            yield
        else:
            with Heartbeat(self._spark, name, lambda line: log.info("%s", line)):
                yield
        self[name] = round(time.perf_counter() - started, 3)
        self.memory[name] = self._meter.peaks()
        self.progress.finished(name, self[name], self.memory[name]["driver_python_peak_mb"])

    def close(self) -> None:
        """Take the progress bar down (a no-op in plain mode)."""
        self.progress.close()

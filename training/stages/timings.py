"""Seconds and peak memory per stage; the pipeline records both in the manifest."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from pyspark.sql import SparkSession

from training.memory import StageMemory

log = logging.getLogger("training")


class Timings(dict):
    """Seconds per stage; `memory` holds each stage's peak memory (training/memory.py)."""

    def __init__(self, spark: SparkSession | None = None) -> None:
        super().__init__()
        self.memory: dict[str, dict] = {}
        self._meter = StageMemory(spark)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        log.info("%s …", name)
        self._meter.start()
        started = time.perf_counter()
        yield
        self[name] = round(time.perf_counter() - started, 3)
        self.memory[name] = self._meter.peaks()
        log.info(
            "%s done in %.1f s (driver peak %.0f MB)", name, self[name], self.memory[name]["driver_python_peak_mb"]
        )

"""A progress line every `interval` seconds while a long stage runs.

Between a stage's start and end lines a million-customer stage can run for minutes. Every
`interval` seconds this logs how many tasks of the running Spark stages are done: each task is a
slice of the rows, so that is the share of rows processed so far, and the time left it implies
(elapsed × tasks left / tasks done) for the Spark job under way. Stages that run on the driver
(no active Spark stage) get the time spent only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

INTERVAL_S = 30.0


def duration(seconds: float) -> str:
    """Seconds as a person reads them: 42 s, 3.5 min, 1.2 h."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def task_counts(spark: SparkSession) -> tuple[int, int]:
    """(tasks done, tasks in all) over the Spark stages running now."""
    tracker = spark.sparkContext.statusTracker()
    done = total = 0
    for stage_id in tracker.getActiveStageIds():
        info = tracker.getStageInfo(stage_id)
        if info is not None:
            done, total = done + info.numCompletedTasks, total + info.numTasks
    return done, total


def seconds_left(elapsed: float, done: int, total: int) -> float | None:
    """Time left if the remaining tasks go as fast as the finished ones; None before the first."""
    if done <= 0 or total <= 0:
        return None
    return elapsed * max(total - done, 0) / done


class Heartbeat:
    """Context manager: a daemon thread reporting `name`'s progress every `interval` seconds."""

    def __init__(
        self, spark: SparkSession, name: str, report: Callable[[str], None], interval: float = INTERVAL_S
    ) -> None:
        self.spark, self.name, self.report, self.interval = spark, name, report, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"progress {name}", daemon=True)
        self._started = 0.0

    def __enter__(self) -> Heartbeat:
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    def line(self, elapsed: float, done: int, total: int) -> str:
        text = f"{self.name}: {duration(elapsed)} so far"
        if total:
            text += f", {done}/{total} tasks of the running Spark job done"
        left = seconds_left(elapsed, done, total)
        return text + (f", about {duration(left)} left in it" if left is not None else "")

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                done, total = task_counts(self.spark)
            except Exception:  # the context is stopping: progress is never worth failing a run
                return
            self.report(self.line(time.perf_counter() - self._started, done, total))

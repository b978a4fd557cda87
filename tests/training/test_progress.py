"""Per-stage progress: plain log lines in order off a terminal, a tqdm bar on one, and the
estimate of the time left scaled from the previous run's stage seconds."""

from __future__ import annotations

import fcntl
import io
import logging
import os
import pty
import select
import struct
import termios

import pytest

from training.stages.heartbeat import Heartbeat, seconds_left
from training.stages.timings import Progress, Timings, previous_timings


@pytest.fixture
def lines(caplog):
    caplog.set_level(logging.INFO, logger="training")
    return lambda: [r.getMessage() for r in caplog.records if r.name == "training"]


def test_plain_lines_name_each_stage_in_order_with_the_time_left(lines):
    timings = Timings(previous={"ingest": 1.0, "validate": 2.0, "train logistic": 3.0}, stream=io.StringIO())
    for name in ("ingest", "validate", "train logistic"):
        with timings.stage(name):
            pass
    timings.close()
    logged = lines()
    assert [line.split(" …")[0] for line in logged[::2]] == [
        "stage 1/3: ingest",
        "stage 2/3: validate",
        "stage 3/3: train logistic",
    ]
    assert [line.split(" done in")[0] for line in logged[1::2]] == ["ingest", "validate", "train logistic"]
    assert all("left" in line for line in logged[1::2])
    assert list(timings) == ["ingest", "validate", "train logistic"]


def test_without_a_previous_run_there_is_a_count_and_no_estimate(lines):
    timings = Timings(stream=io.StringIO())
    with timings.stage("ingest"):
        pass
    assert lines()[0] == "stage 1: ingest …"
    assert "left" not in lines()[1] and "so far" in lines()[1]


def test_estimate_scales_the_previous_run_by_this_run_so_far():
    progress = Progress({"ingest": 10.0, "validate": 20.0, "train gbt": 30.0}, stream=io.StringIO())
    assert progress.left() == 60.0  # nothing done yet: the previous run's total
    progress.finished("ingest", 20.0, 0.0)  # twice as slow as last time
    assert progress.left() == pytest.approx(100.0)
    progress.finished("a stage the previous run did not have", 5.0, 0.0)
    assert progress.left() == pytest.approx(100.0)


def test_a_terminal_gets_a_bar_and_the_log_lines_print_above_it(lines):
    main, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a real terminal has a size
    terminal = os.fdopen(secondary, "w")
    timings = Timings(previous={"ingest": 1.0, "validate": 1.0}, stream=terminal)
    with timings.stage("ingest"):
        pass
    timings.close()
    terminal.flush()
    chunks = []
    while select.select([main], [], [], 0.5)[0]:  # everything the bar wrote, however it was chunked
        chunks.append(os.read(main, 65536))
    shown = b"".join(chunks).decode("utf-8", "replace")
    terminal.close()
    os.close(main)
    assert "stages" in shown and "ingest" in shown
    assert lines()[0] == "stage 1/2: ingest …"


def test_previous_timings_come_from_the_live_manifest(telco_bundle, tmp_path):
    timings = previous_timings(telco_bundle.path)
    assert "ingest" in timings and all(seconds >= 0 for seconds in timings.values())
    assert previous_timings(tmp_path / "no-such-bundle") == {}


def test_heartbeat_estimates_the_time_left_from_tasks_done():
    assert seconds_left(30.0, 1, 4) == 90.0 and seconds_left(30.0, 0, 4) is None
    beat = Heartbeat(None, "validate", print)  # type: ignore[arg-type]
    assert (
        beat.line(20.0, 1, 4) == "validate: 20 s so far, 1/4 tasks of the running Spark job done, about 60 s left in it"
    )
    assert beat.line(200.0, 0, 0) == "validate: 3.3 min so far"


def test_heartbeat_reports_a_running_spark_jobs_tasks(spark):
    import threading
    import time

    def slow(rows):
        time.sleep(2)  # long enough for the heartbeat to see the job running
        return rows

    job = threading.Thread(target=lambda: spark.sparkContext.parallelize(range(8), 4).mapPartitions(slow).count())
    reported: list[str] = []
    with Heartbeat(spark, "a stage", reported.append, interval=0.2):
        job.start()
        job.join()
    assert reported and all(line.startswith("a stage: ") for line in reported)
    assert any("tasks of the running Spark job done" in line and "/4 " in line for line in reported)

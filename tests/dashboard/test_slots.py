"""Page runs wait for one of a bounded number of slots (server memory flat in sessions)."""

from __future__ import annotations

import threading
import time

import pytest

from dashboard.shell import slots


def test_no_more_page_runs_than_slots_at_once():
    running, most, lock = 0, 0, threading.Lock()

    def page() -> None:
        nonlocal running, most
        with slots.page_slot():
            with lock:
                running += 1
                most = max(most, running)
            time.sleep(0.2)
            with lock:
                running -= 1

    threads = [threading.Thread(target=page) for _ in range(4 * slots.slot_count())]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == slots.slot_count()


def test_a_failing_page_gives_its_slot_back():
    for _ in range(slots.slot_count() + 1):
        with pytest.raises(RuntimeError), slots.page_slot():
            raise RuntimeError("page crashed")
    with slots.page_slot():  # would block forever had a slot leaked
        pass


@pytest.mark.parametrize(("value", "expected"), [("3", 3), ("1", 1), ("0", None), ("many", None), ("", None)])
def test_slot_count_reads_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv(slots.SLOTS_ENV, value)
    monkeypatch.setattr(slots.os, "cpu_count", lambda: 2)
    assert slots.slot_count() == (expected if expected is not None else 2)

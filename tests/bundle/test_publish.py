"""Publishing under concurrency and faults: the live bundle is never lost, never half-visible."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bundle import layout, writer
from bundle.reader import BundleError, list_bundles, open_bundle
from bundle.writer import RUNS_DIR, STAGING_DIR
from tests.bundle.tiny import write_tiny_bundle
from tests.kill_nine import run_killed_at


def runs_of(root: Path, name: str = "tiny") -> list[str]:
    return sorted(p.name for p in (root / RUNS_DIR / name).iterdir())


def test_two_threads_publishing_one_name_never_delete_the_live_run(tmp_path):
    write_tiny_bundle(tmp_path, run_id="r0")
    errors: list[BaseException] = []

    def publish(run_id: str) -> None:
        try:
            write_tiny_bundle(tmp_path, run_id=run_id)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    # Hold the publish lock so both runs are fully staged and waiting before either swaps.
    with (tmp_path / RUNS_DIR / "tiny.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        threads = [threading.Thread(target=publish, args=(r,)) for r in ("ra", "rb")]
        for thread in threads:
            thread.start()
        time.sleep(3)  # ample for staging a three-row bundle; the lock keeps both from swapping
        fcntl.flock(lock, fcntl.LOCK_UN)
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    live = open_bundle(tmp_path / "tiny")  # verifies every checksum: the linked run exists and is complete
    assert live.run_id in {"ra", "rb"}
    other = ({"ra", "rb"} - {live.run_id}).pop()
    assert runs_of(tmp_path) == sorted([live.run_id, other])  # the run it replaced is kept for rollback
    assert open_bundle(tmp_path / RUNS_DIR / "tiny" / other, name="tiny").run_id == other
    assert [p.name for p in (tmp_path / STAGING_DIR / "tiny").iterdir()] == []


def test_many_concurrent_publishes_end_with_one_complete_live_bundle(tmp_path):
    threads = [
        threading.Thread(target=write_tiny_bundle, args=(tmp_path,), kwargs={"run_id": f"r{i}"}) for i in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    live = open_bundle(tmp_path / "tiny")
    assert live.run_id in runs_of(tmp_path) and len(runs_of(tmp_path)) == 2


def _stepping_through_writer(check) -> None:
    """Call `check()` before every line the writer module executes (in this thread)."""
    target = writer.__file__

    def local(frame, event, arg):
        if event == "line":
            check()
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename == target else None

    sys.settrace(tracer)
    threading.settrace(tracer)


def _stop_stepping() -> None:
    sys.settrace(None)
    threading.settrace(None)


@pytest.mark.parametrize("live_kind", ["symlink", "plain directory"])
def test_there_is_no_moment_without_a_bundle_while_publishing(tmp_path, live_kind):
    first = write_tiny_bundle(tmp_path / "src", run_id="old")
    if live_kind == "symlink":
        write_tiny_bundle(tmp_path, run_id="old")
    else:
        import shutil

        shutil.copytree(first.path, tmp_path / "tiny")  # a copied bundle: a plain directory
    seen: list[str | None] = []

    def check() -> None:
        manifest = tmp_path / "tiny" / layout.MANIFEST
        seen.append(open_run_id(tmp_path) if manifest.is_file() else None)

    _stepping_through_writer(check)
    try:
        write_tiny_bundle(tmp_path, run_id="new")
    finally:
        _stop_stepping()
    assert None not in seen, "the name had no bundle behind it between two writer steps"
    assert set(seen) == {"old", "new"} and seen[0] == "old" and seen[-1] == "new"
    assert open_bundle(tmp_path / "tiny").run_id == "new"
    assert runs_of(tmp_path) == (["new", "old"] if live_kind == "symlink" else ["new", "replaced-new"])
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tiny")] == []


def open_run_id(root: Path) -> str:
    return open_bundle(root / "tiny", verify=False).run_id


# --- kill -9 during a publish -------------------------------------------------------------

PUBLISH = """
from tests.bundle.tiny import write_tiny_bundle
write_tiny_bundle({root!r}, run_id="killed")
print("published")
"""

# Points of a publish where the process dies: the text of the writer line about to run.
KILL_POINTS = [
    "pq.write_table(table",  # while writing tables
    "(self.path / layout.MANIFEST).write_text",  # before the manifest
    "problems = bundle_problems(staged)",  # while checking
    "os.replace(self.path, run_dir)",  # holding the lock, before the move into .runs
    "previous = _swap_link(",  # moved, not linked
    "os.replace(tmp_link, live)  # swap",  # temporary link made, not swapped in
    "_prune_runs(runs, keep=",  # swapped, not pruned
    "shutil.rmtree(old, ignore_errors=True)",  # while pruning
    "shutil.rmtree(path, ignore_errors=True)",  # published, cleaning up its staging (last occurrence)
]
AFTER_SWAP = KILL_POINTS[-3:]


def _line_of(snippet: str) -> int:
    source = Path(writer.__file__).read_text().splitlines()
    lines = [i for i, text in enumerate(source, start=1) if snippet.split("  #")[0] in text]
    if "  # swap" in snippet:
        return lines[0]  # the symlink-to-symlink swap, not the fallback further down
    assert lines, f"kill point {snippet!r} is no longer in bundle/writer.py"
    return lines[-1]


def _assert_only_complete_bundles(root: Path) -> str:
    assert list_bundles(root) == ["tiny"]
    live = open_bundle(root / "tiny")  # every checksum, every structural check
    assert live.run_id in {"before", "killed"}
    for hidden in root.iterdir():
        assert hidden.name.startswith(".") or hidden.name == "tiny", hidden
    return live.run_id


@pytest.mark.parametrize("point", KILL_POINTS)
def test_kill_9_during_publish_loses_nothing_and_the_next_run_cleans_up(tmp_path, point):
    root = tmp_path / "artifacts"
    write_tiny_bundle(root, run_id="older")  # kept for rollback: the killed run's prune has work to do
    write_tiny_bundle(root, run_id="before")
    child = run_killed_at(writer.__file__, _line_of(point), PUBLISH.format(root=str(root)))
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    assert "published" not in child.stdout

    live_run = _assert_only_complete_bundles(root)
    if point in AFTER_SWAP:
        assert live_run == "killed"  # it was swapped in before the kill: complete and live
    else:
        assert live_run == "before"

    write_tiny_bundle(root, run_id="next")
    assert open_bundle(root / "tiny").run_id == "next"
    assert runs_of(root) == sorted(["next", live_run])
    assert sorted(p.name for p in (root / STAGING_DIR / "tiny").iterdir()) == []
    assert sorted(p.name for p in root.iterdir()) == [".runs", ".staging", "tiny"]


def test_staging_of_a_live_process_is_kept_and_of_a_dead_one_removed(tmp_path):
    staging = tmp_path / STAGING_DIR / "tiny"
    alive, dead = staging / "alive", staging / "dead"
    for leftover in (alive, dead):
        leftover.mkdir(parents=True)
    (staging / "alive.pid").write_text(writer._owner_record())  # this very process
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    start = writer._process_start(sleeper.pid)
    sleeper.kill()
    sleeper.wait()
    import socket

    (staging / "dead.pid").write_text(f"{socket.gethostname()} {sleeper.pid} {start}")
    write_tiny_bundle(tmp_path)
    assert alive.exists() and (staging / "alive.pid").exists()
    assert not dead.exists() and not (staging / "dead.pid").exists()


def test_a_reused_pid_does_not_keep_a_dead_runs_staging(tmp_path):
    staging = tmp_path / STAGING_DIR / "tiny" / "old"
    staging.mkdir(parents=True)
    import socket

    # Our own PID, but a start time that isn't ours: the recorded process is gone.
    (staging.parent / "old.pid").write_text(f"{socket.gethostname()} {os.getpid()} 1")
    write_tiny_bundle(tmp_path)
    assert not staging.exists()


def test_publishing_an_existing_run_id_again_is_refused_and_changes_nothing(tmp_path):
    write_tiny_bundle(tmp_path, run_id="same")
    with pytest.raises(BundleError, match="already has a run 'same'"):
        write_tiny_bundle(tmp_path, run_id="same")
    assert open_bundle(tmp_path / "tiny").run_id == "same"

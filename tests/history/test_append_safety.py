"""Appending a snapshot is all or nothing: kill -9 at any step leaves the history as it was (no Spark here:
the snapshots are the three-customer tiny bundle's training snapshot, written by the same append path)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import pytest

from bundle import history, history_writer
from bundle.reader import open_bundle
from bundle.writer import STAGING_DIR
from tests.bundle.tiny import write_tiny_bundle
from tests.kill_nine import run_killed_at
from training.history import append_training_snapshot

APPEND = """
from bundle.reader import open_bundle
from training.history import append_training_snapshot
append_training_snapshot(open_bundle({bundle!r}, name="tiny"), "killed")
print("appended")
"""

# Where the appending process dies: the text of the history writer's line about to run.
KILL_POINTS = [
    "finish(staged, listed[-1]",  # staged rows written, holding the lock
    "manifest_file.write_text(",  # before snapshot.json
    "os.replace(staged.path, target)",  # checked, not moved in
    "entry = {",  # moved in, not listed
    "os.replace(tmp, path)",  # new index written beside, not renamed over
]


def _line_of(snippet: str) -> int:
    lines = [i for i, text in enumerate(Path(history_writer.__file__).read_text().splitlines(), 1) if snippet in text]
    assert lines, f"kill point {snippet!r} is no longer in bundle/history_writer.py"
    return lines[0]


@pytest.mark.parametrize("point", KILL_POINTS)
def test_kill_9_during_an_append_leaves_the_history_as_it_was(tmp_path, point):
    root = tmp_path / "artifacts"
    write_tiny_bundle(root, run_id="gen1")
    append_training_snapshot(open_bundle(root / "tiny"), "before")
    before = history.read_index(root, "tiny")
    child = run_killed_at(history_writer.__file__, _line_of(point), APPEND.format(bundle=str(root / "tiny")))
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    assert history.read_index(root, "tiny") == before
    assert [s.label for s in history.open_history(root, "tiny", verify=True)] == ["before"]
    # The next append cleans up what the killed one left and lists itself after "before".
    append_training_snapshot(open_bundle(root / "tiny"), "next")
    assert [s.label for s in history.open_history(root, "tiny", verify=True)] == ["before", "next"]
    listed = {e["id"] for e in history.read_index(root, "tiny")["snapshots"]}
    assert {p.name for p in (history.history_dir(root, "tiny") / history.SNAPSHOTS_DIR).iterdir()} == listed
    assert not [p for p in (root / STAGING_DIR / "tiny").iterdir() if not p.name.endswith(".pid")]


def test_a_retrain_and_a_snapshot_at_once_lose_neither(tmp_path):
    root = tmp_path / "artifacts"
    write_tiny_bundle(root, run_id="gen1")
    old = open_bundle(root / "tiny")
    errors: list[BaseException] = []

    def snapshot() -> None:
        try:
            append_training_snapshot(old, "scored-by-gen1")
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=snapshot)
    thread.start()
    write_tiny_bundle(root, run_id="gen2")  # a retrain: a new generation swapped in meanwhile
    append_training_snapshot(open_bundle(root / "tiny"), "trained-gen2")
    thread.join()
    assert not errors
    snapshots = history.open_history(root, "tiny", verify=True)
    assert sorted(s.label for s in snapshots) == ["scored-by-gen1", "trained-gen2"]
    assert {s.label: s.generation for s in snapshots} == {"scored-by-gen1": "gen1", "trained-gen2": "gen2"}
    assert history.read_index(root, "tiny")["generations"] == [s.generation for s in snapshots]

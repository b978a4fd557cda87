"""Appending one snapshot to a bundle's history: staged, checksummed, checked, swapped in atomically.

A snapshot is written into the bundle's staging area (`<root>/.staging/<name>/<id>/`, cleaned like a
publish's when its process dies). Then, holding the same lock a publish holds (`<root>/.runs/<name>.lock`,
so a concurrent retrain and a snapshot take turns), `finish` (the caller's: the figures that depend on the
previous snapshot) runs against the snapshot listed last, the files are checksummed into snapshot.json and
checked, the folder is renamed into `snapshots/`, and `index.json` is replaced by one rename(2). A process
killed at any point leaves the index as it was; a folder it renamed in but never listed is removed by the
next append, under the lock.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bundle import history
from bundle.errors import BundleError
from bundle.files import sha256_of
from bundle.writer import RUNS_DIR, StagedBundle, locked, stage_bundle

# Called under the lock with (the staged snapshot, the snapshot listed last or None); writes what
# depends on the previous snapshot (moved.parquet, aggregates.json) into the staged folder.
Finish = Callable[[StagedBundle, history.Snapshot | None], None]


def new_snapshot_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


@contextmanager
def stage_snapshot(root: Path | str, name: str) -> Iterator[StagedBundle]:
    """A staging folder for one snapshot (removed whether or not it gets appended)."""
    with stage_bundle(root, name, new_snapshot_id()) as staged:
        yield staged


def append_snapshot(staged: StagedBundle, meta: dict[str, Any], finish: Finish) -> history.Snapshot:
    """List the staged snapshot last in the history of `staged.name` (see the module's docstring)."""
    history.check_label(meta["label"])
    runs = staged.root / RUNS_DIR
    runs.mkdir(parents=True, exist_ok=True)
    with locked(runs / f"{staged.name}.lock"):
        return append_locked(staged, meta, finish)


def append_locked(staged: StagedBundle, meta: dict[str, Any], finish: Finish) -> history.Snapshot:
    """`append_snapshot` for a caller that already holds the bundle's lock (a publish's `after_swap`)."""
    history.check_label(meta["label"])
    root, name = staged.root, staged.name
    index = history.read_index(root, name)
    if any(entry["label"] == meta["label"] for entry in index["snapshots"]):
        raise BundleError(f"Bundle '{name}' already has a snapshot labelled '{meta['label']}'; use a new label.")
    listed = history.open_history(root, name)
    finish(staged, listed[-1] if listed else None)
    meta = {
        **meta,
        "format": history.FORMAT,
        "bundle": name,
        "id": staged.run_id,
        "previous": listed[-1].meta["id"] if listed else None,
        "files": _file_entries(staged.path),
    }
    manifest_file = staged.path / history.SNAPSHOT_MANIFEST
    manifest_file.write_text(json.dumps(meta, indent=2, allow_nan=False), encoding="utf-8")
    problems = history.snapshot_problems(staged.path, meta, verify=False)
    if problems:
        raise BundleError(f"Refusing to append snapshot '{meta['label']}' to '{name}': " + "; ".join(problems))
    base = history.history_dir(root, name) / history.SNAPSHOTS_DIR
    base.mkdir(parents=True, exist_ok=True)
    _remove_unlisted(base, {entry["id"] for entry in index["snapshots"]})
    target = base / staged.run_id
    os.replace(staged.path, target)
    entry = {"id": staged.run_id, "label": meta["label"], "sha256": sha256_of(target / history.SNAPSHOT_MANIFEST)}
    generations = list(index["generations"])
    if meta["generation"] not in generations:
        generations.append(meta["generation"])
    _replace_json(
        history.history_dir(root, name) / history.INDEX,
        {**index, "generations": generations, "snapshots": [*index["snapshots"], entry]},
    )
    return history.Snapshot(path=target, meta=meta)


def _file_entries(folder: Path) -> dict[str, dict]:
    return {
        p.name: {"sha256": sha256_of(p), "bytes": p.stat().st_size}
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != history.SNAPSHOT_MANIFEST
    }


def _remove_unlisted(base: Path, listed: set[str]) -> None:
    # Folders renamed in by an append that died before it replaced the index.
    for folder in base.iterdir():
        if folder.name not in listed:
            shutil.rmtree(folder, ignore_errors=True)


def _replace_json(path: Path, obj: object) -> None:
    """Write beside, flush to disk, then rename over `path`: readers see the old file or the new one."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    with tmp.open("w", encoding="utf-8") as handle:
        json.dump(obj, handle, indent=2, allow_nan=False)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)

"""The one place that writes bundles, and publishes them atomically.

A run is written into `<root>/.staging/<name>/<run_id>/`, checksummed, reopened
through the reader and checked; only then is it moved to
`<root>/.runs/<name>/<run_id>/` and the name `<root>/<name>` (a symlink) is
swapped to it with one atomic rename. A reader therefore sees the old bundle or
the new one, never half of one, and a failed run leaves the old bundle as it was.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bundle import layout
from bundle.checks import bundle_problems
from bundle.reader import Bundle, BundleError, open_bundle, sha256_of

RUNS_DIR = ".runs"
STAGING_DIR = ".staging"
STALE_STAGING_S = 6 * 3600  # a staging dir this old belongs to a run that was killed


@dataclass
class StagedBundle:
    """A bundle being written; nothing outside `path` changes until `publish`."""

    root: Path
    name: str
    run_id: str
    path: Path

    def target(self, relpath: str) -> Path:
        """A path inside the staged bundle for writers that produce files themselves."""
        target = self.path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write_table(self, relpath: str, table: pa.Table | pd.DataFrame) -> None:
        if isinstance(table, pd.DataFrame):
            table = pa.Table.from_pandas(table, preserve_index=False)
        # Small row groups keep per-customer reads cheap once bundles are large.
        pq.write_table(table, self.target(relpath), row_group_size=64_000, compression="zstd")

    def write_json(self, relpath: str, obj: object) -> None:
        self.target(relpath).write_text(json.dumps(obj, indent=2, sort_keys=True), encoding="utf-8")

    def publish(self, manifest: dict) -> Bundle:
        """Checksum, verify and swap this run in under `root/name`."""
        manifest = {**manifest, "schema_version": layout.SCHEMA_VERSION, "bundle": self.name, "run_id": self.run_id}
        manifest["files"] = _file_entries(self.path)
        (self.path / layout.MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        # Read back through the reader (checksums were computed just above).
        staged = open_bundle(self.path, name=self.name, verify=False)
        problems = bundle_problems(staged)
        if problems:
            raise BundleError(f"Refusing to publish bundle '{self.name}': " + "; ".join(problems) + ".")
        run_dir = self.root / RUNS_DIR / self.name / self.run_id
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, run_dir)
        # Concurrent publishes of one name serialise here, so none prunes another's live run.
        with _locked(run_dir.parent.with_suffix(".lock")):
            previous = _swap_link(self.root, self.name, run_dir)
            _prune_runs(run_dir.parent, keep={run_dir, previous})
        return Bundle(name=self.name, path=run_dir, manifest=staged.manifest)


@contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _file_entries(bundle_dir: Path) -> dict[str, dict]:
    entries = {}
    for path in sorted(p for p in bundle_dir.rglob("*") if p.is_file()):
        relpath = path.relative_to(bundle_dir).as_posix()
        if relpath != layout.MANIFEST:
            entries[relpath] = {"sha256": sha256_of(path), "bytes": path.stat().st_size}
    return entries


def _swap_link(root: Path, name: str, run_dir: Path) -> Path | None:
    """Point `root/name` at `run_dir`; return the run it pointed at before."""
    live = root / name
    previous = live.resolve() if live.is_symlink() else None
    if live.exists() and not live.is_symlink():
        # A plain directory from a copy or an older layout: keep it as a past run.
        previous = run_dir.parent / f"replaced-{run_dir.name}"
        os.replace(live, previous)
    tmp_link = root / f".{name}.link-{run_dir.name}"
    if tmp_link.is_symlink():
        tmp_link.unlink()
    tmp_link.symlink_to(run_dir.relative_to(root))
    os.replace(tmp_link, live)
    return previous


def _prune_runs(runs: Path, keep: set[Path | None]) -> None:
    """Keep the live run and the one it replaced (even after a manual rollback)."""
    keep = {p.resolve() for p in keep if p is not None}
    for old in runs.iterdir():
        if old.resolve() not in keep:
            shutil.rmtree(old, ignore_errors=True)


def _remove_stale_staging(staging: Path) -> None:
    # A killed run (SIGKILL, power loss) never reaches its cleanup; don't let those pile up.
    now = time.time()
    for leftover in staging.iterdir():
        if now - leftover.stat().st_mtime > STALE_STAGING_S:
            shutil.rmtree(leftover, ignore_errors=True)


def check_bundle_name(name: str) -> None:
    """Refuse names that could not be a directory and URL value; call it early."""
    if not isinstance(name, str) or not re.fullmatch(layout.BUNDLE_NAME_PATTERN, name):
        raise BundleError(
            f"'{name}' is not a valid bundle name: use up to 64 letters, digits, '-' or '_', starting with a letter or digit."
        )


@contextmanager
def stage_bundle(root: Path | str, name: str, run_id: str) -> Iterator[StagedBundle]:
    """Yield a staging area; it is removed whether or not the run gets published."""
    root = Path(root)
    check_bundle_name(name)
    path = root / STAGING_DIR / name / run_id
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(path.parent)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir()
    try:
        yield StagedBundle(root=root, name=name, run_id=run_id, path=path)
    finally:
        shutil.rmtree(path, ignore_errors=True)

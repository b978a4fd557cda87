"""The one place that writes bundles, and publishes them atomically.

A run is written into `<root>/.staging/<name>/<run_id>/`, checksummed, reopened
through the reader and checked. Only then, holding `<root>/.runs/<name>.lock`,
is it moved to `<root>/.runs/<name>/<run_id>/` and the name `<root>/<name>` (a
symlink) swapped to it with one atomic rename; older runs are pruned under the
same lock, keeping the live run and the one it replaced (rollback). A reader
therefore sees the old bundle or the new one, never half of one or none, and a
failed or killed run leaves the old bundle as it was.

A killed run leaves at most: its staging directory (with a `<run_id>.pid` file
naming its process; removed by the next run of that name as soon as that
process is gone), a run directory that was never linked, or a temporary link
`.<name>.link-*` (both removed by the next publish of that name, under the lock).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import logging
import os
import re
import shutil
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bundle import layout
from bundle.checks import bundle_problems
from bundle.errors import BundleError
from bundle.files import Bundle, sha256_of
from bundle.reader import open_bundle

log = logging.getLogger("bundle.writer")

RUNS_DIR = ".runs"
# Rows per Parquet row group of every table the writer produces.
ROW_GROUP_ROWS = 64_000
STAGING_DIR = ".staging"
# A staging dir without a readable owner record (another host, an older
# churnlens) is only removed once it is this old.
STALE_STAGING_S = 6 * 3600


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
        pq.write_table(table, self.target(relpath), row_group_size=ROW_GROUP_ROWS, compression="zstd")

    def write_batches(self, relpath: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> int:
        """Write a table streamed batch by batch (bounded memory), in `ROW_GROUP_ROWS`-row groups
        like `write_table`; returns the row count."""
        return write_rebatched(self.target(relpath), schema, batches)

    def write_json(self, relpath: str, obj: object) -> None:
        self.target(relpath).write_text(json.dumps(obj, indent=2, sort_keys=True), encoding="utf-8")

    def publish(self, manifest: dict, after_swap: Callable[[Bundle], None] | None = None) -> Bundle:
        """Checksum, verify and swap this run in under `root/name`; `after_swap` runs with the new bundle
        while the lock is still held (training appends its training snapshot to the history there)."""
        manifest = {**manifest, "schema_version": layout.SCHEMA_VERSION, "bundle": self.name, "run_id": self.run_id}
        # Writers that keep no training snapshot (tests' tiny bundles, benches) still state the generation.
        manifest.setdefault(
            "history",
            {"generation": self.run_id, "training_snapshot": None, "note": "published without a training snapshot"},
        )
        manifest["files"] = _file_entries(self.path)
        (self.path / layout.MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        # Read back through the reader (checksums were computed just above).
        staged = open_bundle(self.path, name=self.name, verify=False, check_scores=False)
        problems = bundle_problems(staged)
        if problems:
            raise BundleError(f"Refusing to publish bundle '{self.name}': " + "; ".join(problems) + ".")
        runs = self.root / RUNS_DIR / self.name
        runs.mkdir(parents=True, exist_ok=True)
        run_dir = runs / self.run_id
        # Everything that changes .runs/<name> or the link happens under the lock, so two
        # publishes of one name never prune each other's runs.
        with locked(runs.with_suffix(".lock")):
            _clear_link_leftovers(self.root, self.name)
            if run_dir.exists():
                raise BundleError(f"Bundle '{self.name}' already has a run '{self.run_id}'; use a new run id.")
            os.replace(self.path, run_dir)
            previous = _swap_link(self.root, self.name, run_dir)
            _prune_runs(runs, keep={run_dir, previous})
            published = Bundle(name=self.name, path=run_dir, manifest=staged.manifest)
            if after_swap is not None:
                after_swap(published)
        return published


@contextmanager
def locked(lock_file: Path) -> Iterator[None]:
    # flock is released by the kernel when the holder dies, so a killed publish never wedges the next.
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


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directory entries in one step (Linux renameat2 RENAME_EXCHANGE).

    False where the kernel, libc or filesystem can't do it.
    """
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap_link(root: Path, name: str, run_dir: Path) -> Path | None:
    """Point `root/name` at `run_dir`; return the run it pointed at before.

    There is no moment without a bundle under `name`: a symlink is replaced by
    rename(2); a plain directory (a copy, an older layout) is exchanged with the
    new link by renameat2(RENAME_EXCHANGE) and then kept as a past run. Only
    where that call is unsupported (not Linux, some network filesystems) does
    the fallback leave `name` missing between two consecutive renames.
    """
    live = root / name
    tmp_link = root / f".{name}.link-{run_dir.name}"
    tmp_link.symlink_to(run_dir.relative_to(root))
    if live.is_symlink() or not live.exists():
        previous = live.resolve() if live.is_symlink() else None
        os.replace(tmp_link, live)
        return previous
    kept = run_dir.parent / f"replaced-{run_dir.name}"
    if _exchange(tmp_link, live):
        os.replace(tmp_link, kept)  # tmp_link now names the old directory
    else:
        log.warning("renameat2(RENAME_EXCHANGE) unsupported here: replacing %s with two renames", live)
        os.replace(live, kept)
        os.replace(tmp_link, live)
    return kept


def _clear_link_leftovers(root: Path, name: str) -> None:
    """Temporary links (or, after an exchange, the replaced directory) of a killed publish."""
    for leftover in root.glob(f".{glob_escape(name)}.link-*"):
        if leftover.is_symlink() or leftover.is_file():
            leftover.unlink()
        else:
            shutil.rmtree(leftover, ignore_errors=True)


def glob_escape(text: str) -> str:
    # Bundle names are [A-Za-z0-9_-] only, but stay safe if that ever widens.
    return re.sub(r"([*?\[])", r"[\1]", text)


def _prune_runs(runs: Path, keep: set[Path | None]) -> None:
    """Keep the live run and the one it replaced (even after a manual rollback)."""
    keep = {p.resolve() for p in keep if p is not None}
    for old in runs.iterdir():
        if old.resolve() not in keep:
            shutil.rmtree(old, ignore_errors=True)


def _process_start(pid: int) -> str | None:
    """The kernel's start time of `pid` (guards against a reused PID); None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _owner_record() -> str:
    return f"{socket.gethostname()} {os.getpid()} {_process_start(os.getpid()) or '-'}"


def _owner_is_gone(record: str) -> bool | None:
    """True if the process that wrote `record` is dead; None if that can't be told from here."""
    try:
        host, pid_text, start = record.split()
        pid = int(pid_text)
    except ValueError:
        return None
    if host != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, owned by someone else
    return start != "-" and _process_start(pid) not in (None, start)


def _remove_stale_staging(staging: Path) -> None:
    """Leftovers of killed runs (SIGKILL, power loss) never reach their own cleanup.

    A staging dir whose recorded owner process is gone is removed at once; one
    without a usable record only after STALE_STAGING_S.
    """
    now = time.time()
    for leftover in staging.iterdir():
        if leftover.name.endswith(".pid"):
            continue
        record = leftover.with_name(leftover.name + ".pid")
        try:
            gone = _owner_is_gone(record.read_text())
        except OSError:
            gone = None
        try:
            old = now - leftover.stat().st_mtime > STALE_STAGING_S
        except FileNotFoundError:  # its own run just finished
            continue
        if gone or (gone is None and old):
            shutil.rmtree(leftover, ignore_errors=True)
            record.unlink(missing_ok=True)
    for record in staging.glob("*.pid"):
        # A record whose run directory is gone: the run died between the two cleanup steps.
        if not record.with_name(record.name[: -len(".pid")]).exists() and _owner_is_gone(record.read_text()):
            record.unlink(missing_ok=True)


def write_rebatched(
    path: Path, schema: pa.Schema, batches: Iterable[pa.RecordBatch], rows_per_group: int = ROW_GROUP_ROWS
) -> int:
    """Stream `batches` into one Parquet file with row groups of exactly `rows_per_group` rows
    (the last one smaller), whatever sizes the batches come in; holds at most one group in memory."""
    pending: list[pa.RecordBatch] = []
    buffered = written = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as out:
        for batch in batches:
            pending.append(batch)
            buffered += batch.num_rows
            while buffered >= rows_per_group:
                table = pa.Table.from_batches(pending, schema=schema)
                out.write_table(table.slice(0, rows_per_group), row_group_size=rows_per_group)
                rest = table.slice(rows_per_group).combine_chunks()
                pending, buffered = rest.to_batches(), rest.num_rows
                written += rows_per_group
        if buffered or not written:
            out.write_table(pa.Table.from_batches(pending, schema=schema), row_group_size=rows_per_group)
            written += buffered
    return written


@contextmanager
def scratch_dir(root: Path | str, name: str, run_id: str) -> Iterator[Path]:
    """A scratch folder beside the staging area for a run's intermediate data (e.g. Spark's
    sorted per-customer output, streamed into the bundle later). Cleaned like staging: removed
    when the run ends, and by the next run of that name if this process dies."""
    root = Path(root)
    check_bundle_name(name)
    path = root / STAGING_DIR / name / f"{run_id}.scratch"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = path.with_name(path.name + ".pid")
    record.write_text(_owner_record())
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        record.unlink(missing_ok=True)


def check_bundle_name(name: str) -> None:
    """Refuse names that could not be a directory and URL value; call it early."""
    if not isinstance(name, str) or not re.fullmatch(layout.BUNDLE_NAME_PATTERN, name):
        raise BundleError(
            f"'{name}' is not a valid bundle name: use up to 64 letters, digits, '-' or '_', "
            "starting with a letter or digit."
        )


@contextmanager
def stage_bundle(root: Path | str, name: str, run_id: str) -> Iterator[StagedBundle]:
    """Yield a staging area; it is removed whether or not the run gets published."""
    root = Path(root)
    check_bundle_name(name)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}", run_id):
        raise BundleError(f"'{run_id}' is not a valid run id.")
    path = root / STAGING_DIR / name / run_id
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(path.parent)
    record = path.with_name(run_id + ".pid")
    shutil.rmtree(path, ignore_errors=True)
    record.write_text(_owner_record())
    path.mkdir()
    try:
        yield StagedBundle(root=root, name=name, run_id=run_id, path=path)
    finally:
        shutil.rmtree(path, ignore_errors=True)
        record.unlink(missing_ok=True)

"""File access inside an opened bundle: the `Bundle` handle, Parquet reads, checksums.

Kept apart from `bundle/reader.py` (which decides whether a bundle may be opened at all)
so the checks that `open_bundle` runs can read tables without importing the reader.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from bundle.errors import BundleError

log = logging.getLogger("bundle")

# Threads for the work of opening a bundle (hashing files, the ID alignment check in
# bundle/checks.py): one per core, at most four (disk bandwidth runs out first).
OPEN_THREADS = min(4, os.cpu_count() or 1)


@dataclass(frozen=True)
class Bundle:
    """An opened, verified bundle. `path` is the resolved run directory; `manifest` is in the
    current schema version (older bundles are migrated in memory when opened)."""

    name: str
    path: Path
    manifest: dict[str, Any]

    @property
    def run_id(self) -> str:
        return str(self.manifest["run_id"])

    def file(self, relpath: str) -> Path:
        if relpath not in self.manifest["files"]:
            raise BundleError(f"Bundle '{self.name}' has no file '{relpath}'.")
        return self.path / relpath

    def read_table(self, relpath: str, columns: list[str] | None = None) -> pa.Table:
        return read_parquet(self.path, relpath, self.name, columns)


def unreadable(label: str, bundle_dir: Path, relpath: str, exc: BaseException) -> BundleError:
    """The viewer-safe error for a table that can't be read (the path and cause go to the log)."""
    log.warning("bundle %s: cannot read %s: %s", label, bundle_dir / relpath, exc)
    return BundleError(f"Bundle '{label}' is unreadable: {relpath} is not a valid Parquet table.")


def read_parquet(bundle_dir: Path, relpath: str, label: str, columns: list[str] | None = None) -> pa.Table:
    try:
        return pq.read_table(bundle_dir / relpath, columns=columns)
    except (OSError, pa.ArrowException, ValueError) as exc:
        raise unreadable(label, bundle_dir, relpath, exc) from exc


def read_schema(bundle_dir: Path, relpath: str, label: str) -> pa.Schema:
    """A table's schema from its footer alone (cheap at any size)."""
    try:
        return pq.read_schema(bundle_dir / relpath)
    except (OSError, pa.ArrowException, ValueError) as exc:
        raise unreadable(label, bundle_dir, relpath, exc) from exc


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()

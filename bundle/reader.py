"""The one place that opens bundles: manifest, schema version, checksums, tables.

Opening a bundle never runs code from it: everything read here is JSON or
Parquet. Every failure is a `BundleError` whose message can be shown to any
viewer: it names the bundle as the user knows it and never a server path
(paths and low-level causes go to the `bundle` logger instead).

`open_bundle` trusts nothing: besides the manifest's shape and every file's
checksum, it checks the manifest against the tables' schemas and that every
per-customer table lists the same customers in the same order (reading only
the ID columns, so it stays cheap; the dashboard does it once per run).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bundle import layout
from bundle.manifest import manifest_problems

log = logging.getLogger("bundle")


class BundleError(Exception):
    """A bundle is missing, unreadable, of another schema version, or corrupt.

    The message is complete and safe to show to a viewer: it names the bundle
    once and holds no filesystem path.
    """


@dataclass(frozen=True)
class Bundle:
    """An opened, verified bundle. `path` is the resolved run directory."""

    name: str
    path: Path
    manifest: dict

    @property
    def run_id(self) -> str:
        return self.manifest["run_id"]

    def file(self, relpath: str) -> Path:
        if relpath not in self.manifest["files"]:
            raise BundleError(f"Bundle '{self.name}' has no file '{relpath}'.")
        return self.path / relpath

    def read_table(self, relpath: str, columns: list[str] | None = None) -> pa.Table:
        return read_parquet(self.path, relpath, self.name, columns)


def read_parquet(bundle_dir: Path, relpath: str, label: str, columns: list[str] | None = None) -> pa.Table:
    try:
        return pq.read_table(bundle_dir / relpath, columns=columns)
    except (OSError, pa.ArrowException, ValueError) as exc:
        log.warning("bundle %s: cannot read %s: %s", label, bundle_dir / relpath, exc)
        raise BundleError(f"Bundle '{label}' is unreadable: {relpath} is not a valid Parquet table.") from exc


# Threads for the work of opening a bundle (hashing files, the ID alignment check in
# bundle/checks.py): one per core, at most four (disk bandwidth runs out first).
OPEN_THREADS = min(4, os.cpu_count() or 1)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_bundle_dir(path: Path) -> Path:
    """The run directory behind a bundle name (published bundles are symlinks)."""
    return Path(path).resolve()


def read_manifest(bundle_dir: Path, label: str | None = None) -> dict:
    label = label or bundle_dir.name
    manifest_file = bundle_dir / layout.MANIFEST
    if not manifest_file.is_file():
        log.warning("bundle %s: no %s in %s", label, layout.MANIFEST, bundle_dir)
        raise BundleError(f"Bundle '{label}' is incomplete: it has no {layout.MANIFEST}.")
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        log.warning("bundle %s: unreadable manifest %s: %s", label, manifest_file, exc)
        raise BundleError(f"Bundle '{label}' is corrupt: its {layout.MANIFEST} is not valid JSON.") from exc
    version = manifest.get("schema_version") if isinstance(manifest, dict) else None
    if not isinstance(version, int) or isinstance(version, bool):
        raise BundleError(f"Bundle '{label}' is corrupt: its manifest has no valid schema version.")
    if version > layout.SCHEMA_VERSION:
        raise BundleError(
            f"Bundle '{label}' was made by a newer churnlens (schema version {version}); this dashboard "
            f"reads version {layout.SCHEMA_VERSION} and needs updating to show it."
        )
    if version < layout.SCHEMA_VERSION:
        raise BundleError(
            f"Bundle '{label}' has the old schema version {version}; this version of churnlens reads "
            f"version {layout.SCHEMA_VERSION}. Retrain it (`make train` retrains it automatically)."
        )
    problems = manifest_problems(manifest)
    if problems:
        raise BundleError(f"Bundle '{label}' is corrupt: its manifest is invalid: " + "; ".join(problems) + ".")
    return manifest


def verify_files(bundle_dir: Path, manifest: dict, label: str | None = None) -> None:
    """Every listed file exists with its recorded size and checksum.

    Files are hashed on a few threads: hashlib releases the GIL, so on a 2-core
    machine a million-customer bundle (~400 MB) verifies in about half the time,
    which is most of the first page after a restart. The first bad file in the
    manifest's order is the one reported, however the threads finish."""
    label = label or bundle_dir.name
    entries = list(manifest["files"].items())
    for relpath, entry in entries:
        target = bundle_dir / relpath
        if not target.is_file():
            raise BundleError(f"Bundle '{label}' is incomplete: {relpath} is missing.")
        if target.stat().st_size != entry["bytes"]:
            raise BundleError(f"Bundle '{label}' is corrupt: {relpath} does not match its checksum.")
    workers = max(1, min(OPEN_THREADS, len(entries)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        digests = list(pool.map(lambda item: sha256_of(bundle_dir / item[0]), entries))
    for (relpath, entry), digest in zip(entries, digests, strict=True):
        if digest != entry["sha256"]:
            raise BundleError(f"Bundle '{label}' is corrupt: {relpath} does not match its checksum.")


def open_bundle(path: Path | str, *, name: str | None = None, verify: bool = True) -> Bundle:
    """Open the bundle at `path` (a run directory or the symlink naming it).

    `verify=False` skips only the checksums (the writer computed them a moment
    ago); the manifest and the tables' structure are always checked.
    """
    from bundle.checks import structure_problems  # checks reads tables through this module

    path = Path(path)
    # Messages name the bundle as the user knows it, not the run directory behind the symlink.
    label = name or path.name
    if not path.exists():
        log.warning("bundle %s: nothing at %s", label, path)
        raise BundleError(f"There is no bundle named '{label}'.")
    bundle_dir = resolve_bundle_dir(path)
    manifest = read_manifest(bundle_dir, label)
    if verify:
        verify_files(bundle_dir, manifest, label)
    problems = structure_problems(bundle_dir, manifest, label)
    if problems:
        raise BundleError(f"Bundle '{label}' is inconsistent: " + "; ".join(problems) + ".")
    return Bundle(name=name or manifest["bundle"], path=bundle_dir, manifest=manifest)


def list_bundles(root: Path | str) -> list[str]:
    """Names of the bundles under an artifacts root, sorted; hidden entries skipped."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(
        entry.name for entry in root.iterdir() if not entry.name.startswith(".") and (entry / layout.MANIFEST).is_file()
    )

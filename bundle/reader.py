"""The one place that opens bundles: manifest, schema version, checksums, tables.

Opening a bundle never runs code from it: everything read here is JSON or
Parquet. Every failure is a `BundleError` whose message can be shown to a user.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bundle import layout
from bundle.manifest import manifest_problems


class BundleError(Exception):
    """A bundle is missing, unreadable, of another schema version, or corrupt."""


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
        try:
            return pq.read_table(self.file(relpath), columns=columns)
        except (OSError, pa.ArrowException) as exc:
            raise BundleError(f"Bundle '{self.name}': cannot read {relpath}: {exc}") from exc


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
        raise BundleError(f"'{label}' is not a bundle: it has no {layout.MANIFEST}.")
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"The manifest of '{label}' is not valid JSON ({exc}).") from exc
    version = manifest.get("schema_version") if isinstance(manifest, dict) else None
    if version != layout.SCHEMA_VERSION:
        raise BundleError(
            f"Bundle '{label}' has schema version {version!r}; this dashboard reads "
            f"version {layout.SCHEMA_VERSION}. Retrain it with this version of churnlens."
        )
    problems = manifest_problems(manifest)
    if problems:
        raise BundleError(f"The manifest of '{label}' is invalid: " + "; ".join(problems) + ".")
    return manifest


def verify_files(bundle_dir: Path, manifest: dict, label: str | None = None) -> None:
    """Every listed file exists with its recorded size and checksum."""
    label = label or bundle_dir.name
    for relpath, entry in manifest["files"].items():
        target = bundle_dir / relpath
        if not target.is_file():
            raise BundleError(f"Bundle '{label}' is incomplete: {relpath} is missing.")
        if target.stat().st_size != entry["bytes"] or sha256_of(target) != entry["sha256"]:
            raise BundleError(f"Bundle '{label}' is corrupt: {relpath} does not match its checksum.")


def open_bundle(path: Path | str, *, name: str | None = None, verify: bool = True) -> Bundle:
    """Open the bundle at `path` (a run directory or the symlink naming it)."""
    path = Path(path)
    if not path.exists():
        raise BundleError(f"No bundle at {path}.")
    bundle_dir = resolve_bundle_dir(path)
    # Messages name the bundle as the user knows it, not the run directory behind the symlink.
    label = name or path.name
    manifest = read_manifest(bundle_dir, label)
    if verify:
        verify_files(bundle_dir, manifest, label)
    return Bundle(name=name or manifest["bundle"], path=bundle_dir, manifest=manifest)


def list_bundles(root: Path | str) -> list[str]:
    """Names of the bundles under an artifacts root, sorted; hidden entries skipped."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(
        entry.name
        for entry in root.iterdir()
        if not entry.name.startswith(".") and (entry / layout.MANIFEST).is_file()
    )

"""The one place that opens bundles: manifest, schema version, checksums, tables.

Opening a bundle never runs code from it: everything read here is JSON or
Parquet. Every failure is a `BundleError` whose message can be shown to any
viewer: it names the bundle as the user knows it and never a server path
(paths and low-level causes go to the `bundle` logger instead).

`open_bundle` trusts nothing: besides the manifest's shape (against the JSON Schema
of its own version, then upgraded in memory to the current one by
`bundle/migrations.py`) and every file's checksum, it checks the manifest against the
tables' schemas and that every per-customer table lists the same customers in the
same order (reading only the ID columns, so it stays cheap; the dashboard does it
once per run).
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bundle import layout, migrations
from bundle.checks import structure_problems
from bundle.errors import BundleError
from bundle.files import OPEN_THREADS, Bundle, read_parquet, sha256_of
from bundle.manifest import manifest_problems
from bundle.score_sample import RuntimeSource, score_sample_problems

# Names other packages import from here (the file-access layer moved to bundle/files.py).
__all__ = [
    "OPEN_THREADS",
    "Bundle",
    "BundleError",
    "check_stored_scores",
    "list_bundles",
    "open_bundle",
    "read_manifest",
    "read_parquet",
    "resolve_bundle_dir",
    "sha256_of",
    "verify_files",
]

log = logging.getLogger("bundle")


def resolve_bundle_dir(path: Path) -> Path:
    """The run directory behind a bundle name (published bundles are symlinks)."""
    return Path(path).resolve()


def retrain_hint(manifest: Any, label: str) -> str:
    dataset = manifest.get("dataset") if isinstance(manifest, dict) else None
    name = dataset.get("name") if isinstance(dataset, dict) else None
    name = name if isinstance(name, str) and name else label
    return f"retrain it with `python -m training run --dataset {name}` (or `make train` for the built-in bundles)"


def _version_refusal(manifest: Any, version: int, label: str) -> BundleError:
    readable = ", ".join(str(v) for v in migrations.READABLE)
    opens = f"this churnlens opens schema versions {readable}"
    if version > layout.SCHEMA_VERSION:
        return BundleError(
            f"Bundle '{label}' was made by a newer churnlens (schema version {version}); {opens}. "
            f"Update churnlens to show it, or {retrain_hint(manifest, label)}."
        )
    older = migrations.READABLE[:-1]
    upgraded = f"version {older[0]} is" if len(older) == 1 else f"versions {', '.join(map(str, older))} are"
    return BundleError(
        f"Bundle '{label}' has the old schema version {version}, too old to migrate: {opens} "
        f"({upgraded} upgraded when read). To use it, {retrain_hint(manifest, label)}."
    )


def _load_json(bundle_dir: Path, label: str) -> Any:
    manifest_file = bundle_dir / layout.MANIFEST
    if not manifest_file.is_file():
        log.warning("bundle %s: no %s in %s", label, layout.MANIFEST, bundle_dir)
        raise BundleError(f"Bundle '{label}' is incomplete: it has no {layout.MANIFEST}.")
    try:
        return json.loads(manifest_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        log.warning("bundle %s: unreadable manifest %s: %s", label, manifest_file, exc)
        raise BundleError(f"Bundle '{label}' is corrupt: its {layout.MANIFEST} is not valid JSON.") from exc


def read_manifest(bundle_dir: Path, label: str | None = None) -> dict[str, Any]:
    """The manifest in the current schema version: validated against the schema of the
    version it was written in, upgraded in memory if older, and validated again."""
    label = label or bundle_dir.name
    manifest = _load_json(bundle_dir, label)
    version = manifest.get("schema_version") if isinstance(manifest, dict) else None
    if not isinstance(version, int) or isinstance(version, bool):
        raise BundleError(f"Bundle '{label}' is corrupt: its manifest has no valid schema version.")
    if version not in migrations.READABLE:
        raise _version_refusal(manifest, version, label)
    problems = manifest_problems(manifest, version)
    if not problems and version < layout.SCHEMA_VERSION:
        manifest = migrations.upgrade(manifest)
        problems = manifest_problems(manifest)
    if problems:
        raise BundleError(f"Bundle '{label}' is corrupt: its manifest is invalid: " + "; ".join(problems) + ".")
    return manifest


def verify_files(bundle_dir: Path, manifest: dict[str, Any], label: str | None = None) -> None:
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


def open_bundle(path: Path | str, *, name: str | None = None, verify: bool = True, check_scores: bool = True) -> Bundle:
    """Open the bundle at `path` (a run directory or the symlink naming it).

    `verify=False` skips only the checksums (the writer computed them a moment
    ago); the manifest and the tables' structure are always checked.
    `check_scores=False` skips recomputing a sample of stored scores through the
    runtime (`bundle/score_sample.py`): the writer runs the full parity check instead.
    """
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
    bundle = Bundle(name=name or manifest["bundle"], path=bundle_dir, manifest=manifest)
    if check_scores:
        check_stored_scores(Bundle(name=label, path=bundle_dir, manifest=manifest))
    return bundle


def check_stored_scores(bundle: Bundle, runtime_of: RuntimeSource | None = None) -> None:
    """Raise a `BundleError` naming the bundle when a sample of its stored scores disagrees with
    its models (`bundle/score_sample.py`); part of `open_bundle` unless `check_scores=False`."""
    problems = score_sample_problems(bundle, runtime_of)
    if problems:
        raise BundleError(f"Bundle '{bundle.name}' is inconsistent: " + "; ".join(problems) + ".")


def list_bundles(root: Path | str) -> list[str]:
    """Names of the bundles under an artifacts root, sorted; hidden entries skipped."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(
        entry.name for entry in root.iterdir() if not entry.name.startswith(".") and (entry / layout.MANIFEST).is_file()
    )

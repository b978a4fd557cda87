"""A bundle's history: dated, immutable snapshots of every customer as scored, beside the bundle.

Layout (docs/history.md explains why it lives beside the run and not inside it):

    <artifacts>/.history/<bundle>/index.json                 the snapshots in order (the one mutable file)
    <artifacts>/.history/<bundle>/snapshots/<id>/snapshot.json   what the snapshot holds + a checksum per file
    <artifacts>/.history/<bundle>/snapshots/<id>/rows.parquet     per customer, sorted by customer_id
    <artifacts>/.history/<bundle>/snapshots/<id>/aggregates.json  population figures the Monitoring page draws
    <artifacts>/.history/<bundle>/snapshots/<id>/moved.parquet    who changed risk band since the previous one

`rows.parquet` holds customer_id, every feature as scored (column named as the feature) and, per model,
`probability:<model>`, `margin:<model>` (log-odds) and `shap:<model>:<feature>` (log-odds), in row
groups of `ROW_GROUP_ROWS` rows so one customer costs one small group per snapshot.

A snapshot folder never changes once listed; `index.json` is only ever replaced whole (rename(2)) under
the bundle's publish lock, so a reader sees the old list or the new one. Each index entry records the
sha256 of its snapshot.json, which records the sha256 of every other file.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from bundle import layout
from bundle.errors import BundleError
from bundle.files import sha256_of

log = logging.getLogger("bundle")

HISTORY_DIR = ".history"
INDEX = "index.json"
SNAPSHOTS_DIR = "snapshots"
SNAPSHOT_MANIFEST = "snapshot.json"
ROWS = "rows.parquet"
AGGREGATES = "aggregates.json"
MOVED = "moved.parquet"
MOVED_COLUMNS = (layout.ID_COLUMN, "model", "band_before", "band_after", "probability_before", "probability_after")
FORMAT = 1
# Small row groups: a lookup decodes one group per snapshot (4,096 rows of the columns it asks for).
ROW_GROUP_ROWS = 4096
LABEL_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}"
KINDS = ("training", "scored")


def probability_column(model: str) -> str:
    return f"probability:{model}"


def margin_column(model: str) -> str:
    return f"margin:{model}"


def shap_column(model: str, feature: str) -> str:
    return f"shap:{model}:{feature}"


def history_dir(root: Path | str, name: str) -> Path:
    return Path(root) / HISTORY_DIR / name


def check_label(label: str) -> None:
    if not isinstance(label, str) or not re.fullmatch(LABEL_PATTERN, label):
        raise BundleError(
            f"'{label}' is not a valid snapshot label: use up to 64 letters, digits, '-', '_', '.' or ':', "
            "starting with a letter or digit (e.g. 2026-11)."
        )


@dataclass(frozen=True)
class Snapshot:
    """One listed snapshot: its folder and its (checked) snapshot.json."""

    path: Path
    meta: dict[str, Any]

    @property
    def label(self) -> str:
        return str(self.meta["label"])

    @property
    def generation(self) -> str:
        return str(self.meta["generation"])

    @property
    def models(self) -> list[str]:
        return list(self.meta["models"])

    def aggregates(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.path / AGGREGATES).read_text(encoding="utf-8"))
        return loaded


def read_index(root: Path | str, name: str) -> dict[str, Any]:
    """The index (an empty one when the bundle has no history yet)."""
    path = history_dir(root, name) / INDEX
    if not path.exists():
        return {"format": FORMAT, "bundle": name, "generations": [], "snapshots": []}
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("history %s: unreadable index %s: %s", name, path, exc)
        raise BundleError(f"The history of bundle '{name}' is corrupt: its {INDEX} is not valid JSON.") from exc
    problems = index_problems(index)
    if problems:
        raise BundleError(f"The history of bundle '{name}' is corrupt: " + "; ".join(problems) + ".")
    return dict(index)


def index_problems(index: Any) -> list[str]:
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        return [f"{INDEX} is not a format-{FORMAT} history index"]
    if not isinstance(index.get("generations"), list) or not isinstance(index.get("snapshots"), list):
        return [f"{INDEX} lacks its generations or snapshots"]
    problems = []
    seen: set[str] = set()
    for i, entry in enumerate(index["snapshots"]):
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("id", "label", "sha256")):
            problems.append(f"snapshots[{i}] lacks id, label or sha256")
            continue
        if entry["label"] in seen:
            problems.append(f"snapshot label '{entry['label']}' is listed twice")
        seen.add(entry["label"])
        if not re.fullmatch(LABEL_PATTERN, entry["id"]):
            problems.append(f"snapshots[{i}].id is not a folder name")
    return problems


def snapshot_problems(path: Path, meta: Any, verify: bool) -> list[str]:
    """What is wrong with one snapshot folder (its files against snapshot.json; all of them hashed if `verify`)."""
    required = ("label", "kind", "generation", "rows", "models", "features", "files", "created_at", "simulated")
    if not isinstance(meta, dict) or any(k not in meta for k in required):
        return [f"{SNAPSHOT_MANIFEST} lacks one of {', '.join(required)}"]
    problems = []
    for relpath in (ROWS, AGGREGATES, MOVED):
        entry = meta["files"].get(relpath)
        target = path / relpath
        if not isinstance(entry, dict) or not target.is_file():
            problems.append(f"{relpath} is missing")
        elif target.stat().st_size != entry.get("bytes") or (verify and sha256_of(target) != entry.get("sha256")):
            problems.append(f"{relpath} does not match its checksum")
    if problems:
        return problems
    try:
        schema = pq.read_schema(path / ROWS)
        rows = pq.ParquetFile(path / ROWS).metadata.num_rows
    except (OSError, ValueError) as exc:
        return [f"{ROWS} is not a valid Parquet table ({type(exc).__name__})"]
    expected = [layout.ID_COLUMN, *meta["features"]]
    for model in meta["models"]:
        expected += [probability_column(model), margin_column(model)]
        expected += [shap_column(model, f) for f in meta["features"]]
    missing = [c for c in expected if c not in schema.names]
    if missing:
        problems.append(f"{ROWS} lacks column(s) {', '.join(missing[:5])}")
    if rows != meta["rows"]:
        problems.append(f"{ROWS} has {rows} rows, its manifest says {meta['rows']}")
    return problems


def open_history(root: Path | str, name: str, verify: bool = False) -> list[Snapshot]:
    """Every listed snapshot, oldest first, each checked (`verify`: every file hashed, not only sizes)."""
    index = read_index(root, name)
    base = history_dir(root, name) / SNAPSHOTS_DIR
    snapshots = []
    for entry in index["snapshots"]:
        path = base / entry["id"]
        manifest_file = path / SNAPSHOT_MANIFEST
        if not manifest_file.is_file() or sha256_of(manifest_file) != entry["sha256"]:
            raise BundleError(
                f"The history of bundle '{name}' is corrupt: snapshot '{entry['label']}' does not match its checksum."
            )
        meta = json.loads(manifest_file.read_text(encoding="utf-8"))
        problems = snapshot_problems(path, meta, verify)
        if problems:
            raise BundleError(
                f"The history of bundle '{name}' is corrupt: snapshot '{entry['label']}': " + "; ".join(problems) + "."
            )
        snapshots.append(Snapshot(path=path, meta=meta))
    return snapshots

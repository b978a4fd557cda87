"""Make broken copies of a bundle whose checksums still match, for tests of the reader's distrust."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bundle import layout
from bundle.reader import sha256_of

TableChange = Callable[[pd.DataFrame], pd.DataFrame]


def rewrite(
    bundle_dir: Path,
    tables: dict[str, TableChange] | None = None,
    manifest_change=None,
    raw: dict[str, bytes] | None = None,
) -> None:
    """Change tables (and/or the manifest) of the run at `bundle_dir`, then re-checksum every file,
    as someone who knows the format would: only the content checks can catch it."""
    for relpath, change in (tables or {}).items():
        frame = pq.read_table(bundle_dir / relpath).to_pandas()
        pq.write_table(pa.Table.from_pandas(change(frame), preserve_index=False), bundle_dir / relpath)
    for relpath, content in (raw or {}).items():
        (bundle_dir / relpath).write_bytes(content)
    manifest_file = bundle_dir / layout.MANIFEST
    manifest = json.loads(manifest_file.read_text())
    for relpath in manifest["files"]:
        if (bundle_dir / relpath).is_file():
            manifest["files"][relpath] = {
                "sha256": sha256_of(bundle_dir / relpath),
                "bytes": (bundle_dir / relpath).stat().st_size,
            }
    if manifest_change is not None:
        manifest_change(manifest)
    manifest_file.write_text(json.dumps(manifest))  # NaN is written as NaN, which JSON readers accept

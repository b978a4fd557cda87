"""Manifests of older schema versions, upgraded in memory when a bundle is opened.

Each step takes a manifest of version N (valid against `bundle/schema/manifest.vN.json`)
to version N + 1, and the reader applies them in turn up to `layout.SCHEMA_VERSION`.
Only the manifest is upgraded, and never on disk: a bundle's files and checksums stay
as its training run wrote them. A version older than the oldest step can't be opened;
its bundle must be retrained.

A step may only add what the newer version requires in a form the newer schema states
explicitly (a marker, never an invented measurement): readers must be able to tell a
migrated value from a measured one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from bundle import layout

Manifest = dict[str, Any]

# The parity record of a bundle trained before schema 3 (manifest.v3.json states this shape).
UNMEASURED_PARITY: dict[str, Any] = {"reference": "none (trained before schema 3)", "max_abs_margin": None, "rows": 0}


def _v2_to_v3(manifest: Manifest) -> Manifest:
    """Schema 3 records per model how closely the runtime matched the training engine;
    schema 2 bundles passed the same parity check at publish but kept no record of it."""
    for model in manifest["models"].values():
        model["parity"] = dict(UNMEASURED_PARITY)
    manifest["schema_version"] = 3
    return manifest


# The calibration record of a bundle trained before schema 4 (manifest.v4.json states this shape):
# its stored probabilities are sigmoid(margin), which is what this map gives.
UNCALIBRATED: dict[str, Any] = {
    "method": "none",
    "slope": 1.0,
    "intercept": 0.0,
    "rows": 0,
    "fitted_on": "none (trained before schema 4)",
}


def _v3_to_v4(manifest: Manifest) -> Manifest:
    """Schema 4 calibrates every model after training; schema 3 bundles show sigmoid(margin)."""
    for model in manifest["models"].values():
        model["calibration"] = dict(UNCALIBRATED)
    manifest["schema_version"] = 4
    return manifest


# The audit record of a bundle trained before schema 5 (manifest.v5.json states this shape): no audit
# tables exist, and the Validation page says to retrain for group metrics and error analysis.
NOT_AUDITED: dict[str, Any] = {
    "measured": False,
    "note": "trained before schema 5: no group metrics or error analysis; retrain to see them",
}


def _v4_to_v5(manifest: Manifest) -> Manifest:
    """Schema 5 measures per-group metrics and error cohorts at training; schema 4 bundles have none."""
    manifest["audit"] = dict(NOT_AUDITED)
    manifest["schema_version"] = 5
    return manifest


# The history record of a bundle trained before schema 6 (manifest.v6.json states this shape): its run is
# the model generation, but no training snapshot was kept; snapshots scored later may still be appended.
NO_TRAINING_SNAPSHOT_NOTE = (
    "trained before schema 6: no training snapshot; the history holds only snapshots scored later, if any"
)


def _v5_to_v6(manifest: Manifest) -> Manifest:
    """Schema 6 keeps a history of scored snapshots beside the bundle; the training run is its first one."""
    manifest["history"] = {
        "generation": manifest["run_id"],
        "training_snapshot": None,
        "note": NO_TRAINING_SNAPSHOT_NOTE,
    }
    manifest["schema_version"] = 6
    return manifest


# from-version → the step to the next version
STEPS: dict[int, Callable[[Manifest], Manifest]] = {2: _v2_to_v3, 3: _v3_to_v4, 4: _v4_to_v5, 5: _v5_to_v6}
OLDEST = min(STEPS)
READABLE = tuple(range(OLDEST, layout.SCHEMA_VERSION + 1))


def upgrade(manifest: Manifest) -> Manifest:
    """A copy of `manifest` (any version in READABLE, already valid against its own schema)
    in the current schema version."""
    upgraded = copy.deepcopy(manifest)
    while upgraded["schema_version"] < layout.SCHEMA_VERSION:
        upgraded = STEPS[upgraded["schema_version"]](upgraded)
    return upgraded

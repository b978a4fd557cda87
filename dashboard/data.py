"""Where bundles come from, and the per-process caches in front of them.

Caches are keyed by the resolved run directory / run id rather than the bundle
name: a re-publish swaps the `<root>/<name>` symlink to a new run directory, so
a new run gets a new cache entry (and is verified once) without any restart.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import streamlit as st

from bundle import layout
from bundle.customers import CustomerStore
from bundle.reader import Bundle, BundleError, list_bundles, open_bundle, resolve_bundle_dir

ARTIFACTS_ENV = "CHURNLENS_ARTIFACTS"
REPO_ROOT = Path(__file__).resolve().parents[1]

# Curves can hold one point per distinct test score; a browser chart needs far fewer.
MAX_CURVE_POINTS = 400

# Session-state keys shared by the router and the pages.
PICKER_KEY = "bundle_picker"
ACTIVE_BUNDLE_KEY = "active_bundle"


def artifacts_root() -> Path:
    configured = os.environ.get(ARTIFACTS_ENV)
    return Path(configured) if configured else REPO_ROOT / "artifacts"


def bundle_names() -> list[str]:
    return list_bundles(artifacts_root())


def load_bundle(name: str) -> Bundle:
    """The opened, checksum-verified bundle currently published under `name`."""
    # Only names the root actually lists are opened, so a URL can't walk the filesystem.
    if name not in bundle_names():
        raise BundleError(f"There is no bundle named '{shorten(name)}'.")
    try:
        run_dir = resolve_bundle_dir(artifacts_root() / name)
        return _open_run(str(run_dir), name)
    except BundleError:
        raise
    except Exception as exc:  # a manifest of the wrong shape can fail outside BundleError
        raise BundleError(f"Bundle '{name}' could not be opened ({type(exc).__name__}).") from exc


@st.cache_resource(show_spinner="Verifying bundle…", max_entries=16)
def _open_run(run_dir: str, name: str) -> Bundle:
    return open_bundle(run_dir, name=name, verify=True)


def load_customer_store(bundle: Bundle) -> CustomerStore:
    """One read-only store per run, shared by every session of this process."""
    return _customer_store(str(bundle.path), bundle.run_id, bundle)


@st.cache_resource(show_spinner="Loading customers…", max_entries=4)
def _customer_store(run_dir: str, run_id: str, _bundle: Bundle) -> CustomerStore:
    return CustomerStore(_bundle)


def load_curves(bundle: Bundle) -> pd.DataFrame:
    """Evaluation curves of every model, thinned for plotting. Treat as read-only."""
    return _curves(str(bundle.path), bundle.run_id, bundle)


@st.cache_resource(show_spinner=False, max_entries=16)
def _curves(run_dir: str, run_id: str, _bundle: Bundle) -> pd.DataFrame:
    curves = _bundle.read_table(layout.CURVES).to_pandas()
    return thin_curves(curves, MAX_CURVE_POINTS)


def thin_curves(curves: pd.DataFrame, max_points: int) -> pd.DataFrame:
    """At most `max_points` evenly spaced points per (model, curve), ends kept."""
    parts = []
    for _, part in curves.groupby(["model", "curve"], sort=False):
        if len(part) > max_points:
            step = (len(part) - 1) / (max_points - 1)
            part = part.iloc[sorted({round(i * step) for i in range(max_points)})]
        parts.append(part)
    if not parts:
        return curves.iloc[0:0]
    return pd.concat(parts, ignore_index=True)


def shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"

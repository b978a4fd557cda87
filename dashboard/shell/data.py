"""Where bundles come from, and the per-process caches in front of them.

Caches are keyed by the resolved run directory / run id rather than the bundle
name: a re-publish swaps the `<root>/<name>` symlink to a new run directory, so
a new run gets a new cache entry (and is verified once) without any restart.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import streamlit as st

from bundle import history, layout
from bundle.models import load_runtime as _load_runtime
from bundle.reader import Bundle, BundleError, check_stored_scores, list_bundles, open_bundle, resolve_bundle_dir
from dashboard.views import audit as audit_view
from dashboard.views.audit import AuditData
from dashboard.views.error_analysis import ErrorData, error_data
from dashboard.views.global_explanations.view import ExplainData
from dashboard.views.global_explanations.view import load_explain_data as _load_explain_data
from dashboard.views.validation import TestScores
from dashboard.views.validation import load_test_scores as _load_test_scores
from runtime import ModelRuntime
from runtime.xgboost_import import import_xgboost_without_sklearn
from store.customers import CustomerStore
from store.history import HistoryStore
from store.recent_items import RecentItemsFile, open_recent_items

log = logging.getLogger("churnlens.dashboard")

ARTIFACTS_ENV = "CHURNLENS_ARTIFACTS"
REPO_ROOT = Path(__file__).resolve().parents[2]  # dashboard/shell/data.py → the repository

# Session-state keys shared by the router and the pages.
PICKER_KEY = "bundle_picker"
ACTIVE_BUNDLE_KEY = "active_bundle"
CUSTOMER_BOX_KEY = "customer"  # the Customer page's ID box (and its URL parameter)

# Runs whose customer store (and SHAP data) one process keeps: the live run and the one it replaced.
STORE_RUNS = 2

# Row groups are decoded by every session's script thread at once. Arrow's default allocator
# (jemalloc) keeps what each busy thread freed, so the server grew with concurrent sessions; glibc's
# malloc (two arenas: MALLOC_ARENA_MAX, Makefile) reuses it. Same CPU per page (docs/performance.md,
# "Sessions that stay flat"): a 1M bundle, 10 threads building Customer pages peaked at 333 MB
# with jemalloc and 261 MB with this, against 216 / 239 MB for one thread.
pa.set_memory_pool(pa.system_memory_pool())


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
    run_dir = resolve_bundle_dir(artifacts_root() / name)
    opened = _open_run(str(run_dir), name)
    if isinstance(opened, str):
        raise BundleError(opened)
    return opened


@st.cache_resource(show_spinner="Verifying bundle…", max_entries=16)
def _open_run(run_dir: str, name: str) -> Bundle | str:
    # A refusal is cached too (as its message): a corrupt run is hashed once, not on every rerun.
    try:
        bundle = open_bundle(run_dir, name=name, verify=True, check_scores=False)
        # The open-time tamper check, through the same cached runtimes the pages use.
        check_stored_scores(bundle, load_runtime)
        return bundle
    except BundleError as exc:
        log.warning("bundle %s (run directory %s) refused: %s", name, run_dir, exc)
        return str(exc)


def load_customer_store(bundle: Bundle) -> CustomerStore:
    """One read-only store per run, shared by every session of this process."""
    return _customer_store(str(bundle.path), bundle.run_id, bundle)


# At most two runs: a store can be large, and a re-publish only needs the old and the new run.
@st.cache_resource(show_spinner="Loading customers…", max_entries=STORE_RUNS)
def _customer_store(run_dir: str, run_id: str, _bundle: Bundle) -> CustomerStore:
    return CustomerStore(_bundle)


def load_runtime(bundle: Bundle, model: str) -> ModelRuntime:
    """The JVM-free runtime of one bundle model, built once per run and shared by every session."""
    return _runtime(str(bundle.path), bundle.run_id, model, bundle)


@st.cache_resource(show_spinner="Loading model…", max_entries=32)
def _runtime(run_dir: str, run_id: str, model: str, _bundle: Bundle) -> ModelRuntime:
    if _bundle.manifest["models"].get(model, {}).get("runtime", {}).get("kind") == "xgboost":
        import_xgboost_without_sklearn()  # this process never fits models: ~1.7 s off the first page
    return _load_runtime(_bundle, model)


def load_curves(bundle: Bundle) -> pd.DataFrame:
    """Evaluation curves of every model (training thins them). Treat as read-only."""
    return _curves(str(bundle.path), bundle.run_id, bundle)


@st.cache_resource(show_spinner=False, max_entries=16)
def _curves(run_dir: str, run_id: str, _bundle: Bundle) -> pd.DataFrame:
    return _bundle.read_table(layout.CURVES).to_pandas()


def shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


# --- Item vectors (Items page, Customer page additions) ---------------------------------------
WORD2VEC_DIRS_ENV = "CHURNLENS_WORD2VEC_DIRS"


def word2vec_dirs() -> dict[str, Path]:
    """Spark Word2Vec folders the operator configured (os.pathsep-separated), by folder name.

    Only these are ever opened: nothing from a URL or a text box becomes a path.
    """
    configured = os.environ.get(WORD2VEC_DIRS_ENV, "")
    folders = [Path(p).expanduser() for p in configured.split(os.pathsep) if p.strip()]
    return {folder.name or str(folder): folder for folder in folders}


def load_item_catalog(bundle: Bundle):
    """The bundle's item vectors, metadata and map, shared per run. Treat as read-only."""
    return _item_catalog(str(bundle.path), bundle.run_id, bundle)


@st.cache_resource(show_spinner="Loading item vectors…", max_entries=8)
def _item_catalog(run_dir: str, run_id: str, _bundle: Bundle):
    from dashboard.views.items import catalog_from_bundle

    return catalog_from_bundle(_bundle)


def load_external_catalog(name: str):
    """A configured Spark Word2Vec folder (by its configured name); raises ItemLookupError."""
    from store.items import ItemLookupError

    folders = word2vec_dirs()
    if name not in folders:
        raise ItemLookupError(f"No Word2Vec folder named '{shorten(name)}' is configured.")
    folder = folders[name]
    stamp = max((p.stat().st_mtime_ns for p in folder.rglob("*")), default=0) if folder.is_dir() else 0
    return _external_catalog(str(folder), stamp)


@st.cache_resource(show_spinner="Reading the Word2Vec model…", max_entries=4)
def _external_catalog(folder: str, stamp: int):
    from dashboard.views.items import catalog_from_word2vec_dir

    return catalog_from_word2vec_dir(Path(folder))


def load_customer_history(bundle: Bundle, customer_id: int | str) -> pd.DataFrame:
    """One customer's latest items (bundle CUSTOMER_ITEMS), read on demand: only the row group(s)
    holding that customer, never the whole table. Raises BundleError if the file can't be read."""
    return _recent_items_file(str(bundle.path), bundle.run_id, bundle).rows(customer_id).to_pandas()


@st.cache_resource(show_spinner=False, max_entries=8)
def _recent_items_file(run_dir: str, run_id: str, _bundle: Bundle) -> RecentItemsFile:
    # Holds an open handle and two IDs per row group; opened (and its footer read) on first use.
    return open_recent_items(_bundle)


def load_test_scores(bundle: Bundle) -> TestScores:
    """Test-split labels and every model's probabilities, read once per run. Treat as read-only."""
    return _test_scores(str(bundle.path), bundle.run_id, bundle)


@st.cache_resource(show_spinner="Loading test scores…", max_entries=8)
def _test_scores(run_dir: str, run_id: str, _bundle: Bundle) -> TestScores:
    return _load_test_scores(_bundle)


def load_optional_table(bundle: Bundle, relpath: str) -> pd.DataFrame | None:
    """A table newer training runs add (None when this bundle predates it). Treat as read-only."""
    if relpath not in bundle.manifest["files"]:
        return None
    return _optional_table(str(bundle.path), bundle.run_id, relpath, bundle)


@st.cache_resource(show_spinner=False, max_entries=64)
def _optional_table(run_dir: str, run_id: str, relpath: str, _bundle: Bundle) -> pd.DataFrame:
    return _bundle.read_table(relpath).to_pandas()


def load_explain_data(bundle: Bundle) -> ExplainData:
    """Every customer's raw features, label, probabilities and SHAP values, read once per run."""
    return _explain_data(str(bundle.path), bundle.run_id, bundle)


@st.cache_resource(show_spinner="Loading SHAP values…", max_entries=STORE_RUNS)
def _explain_data(run_dir: str, run_id: str, _bundle: Bundle) -> ExplainData:
    return _load_explain_data(_bundle)


def load_audit_data(bundle: Bundle) -> AuditData:
    """The audit tables and regenerated bootstrap resamples, read once per run (AuditMissing if none)."""
    return _audit_data(str(bundle.path), bundle.run_id, bundle)


@st.cache_resource(show_spinner="Loading group metrics…", max_entries=8)
def _audit_data(run_dir: str, run_id: str, _bundle: Bundle) -> AuditData:
    return audit_view.load_audit_data(_bundle)


def load_error_data(bundle: Bundle) -> ErrorData:
    """Each error cohort's rows and each tree's layout, prepared once per run."""
    return _error_data(str(bundle.path), bundle.run_id, bundle)


@st.cache_resource(show_spinner=False, max_entries=8)
def _error_data(run_dir: str, run_id: str, _bundle: Bundle) -> ErrorData:
    return error_data(load_audit_data(_bundle), _bundle.manifest["features"])


def load_snapshot_history(bundle: Bundle) -> HistoryStore:
    """The bundle's history (bundle/history.py), opened and verified once per version of its index;
    an empty store when it has none. Raises `BundleError` when it is damaged."""
    index = history.history_dir(artifacts_root(), bundle.name) / history.INDEX
    try:
        stat = index.stat()
    except FileNotFoundError:
        return HistoryStore([])
    found = _snapshot_history(str(artifacts_root()), bundle.name, stat.st_mtime_ns, stat.st_size)
    if isinstance(found, str):
        raise BundleError(found)
    return found


@st.cache_resource(show_spinner="Reading the history…", max_entries=8)
def _snapshot_history(root: str, name: str, mtime_ns: int, size: int) -> HistoryStore | str:
    # A refusal is cached too (as its message), like a bundle's: a damaged history is hashed once.
    try:
        return HistoryStore.open(root, name, verify=True)
    except BundleError as exc:
        return str(exc)

"""Bundle loading and per-process caches: keyed by run, safe against odd names."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bundle import layout
from bundle.reader import BundleError
from bundle.writer import stage_bundle
from dashboard.shell import data


def publish_copy(source: Path, root: Path, name: str, run_id: str) -> None:
    """Publish the content of bundle `source` as run `run_id`, as a retrain would."""
    source = source.resolve()
    manifest = json.loads((source / layout.MANIFEST).read_text())
    with stage_bundle(root, name, run_id) as staged:
        for relpath in manifest["files"]:
            shutil.copyfile(source / relpath, staged.target(relpath))
        staged.publish({k: v for k, v in manifest.items() if k != "files"})


@pytest.fixture
def own_root(bundle_root, tmp_path, monkeypatch) -> Path:
    root = tmp_path / "artifacts"
    publish_copy(bundle_root / "telco", root, "telco", "first")
    monkeypatch.setenv(data.ARTIFACTS_ENV, str(root))
    return root


def test_artifacts_root_defaults_to_repo_artifacts(monkeypatch):
    monkeypatch.delenv(data.ARTIFACTS_ENV, raising=False)
    assert data.artifacts_root() == Path(__file__).resolve().parents[2] / "artifacts"
    monkeypatch.setenv(data.ARTIFACTS_ENV, "/somewhere/else")
    assert data.artifacts_root() == Path("/somewhere/else")


def test_republish_is_picked_up_without_restart(own_root):
    first = data.load_bundle("telco")
    assert first.run_id == "first"
    assert data.load_bundle("telco") is first  # verified once, then served from cache
    store = data.load_customer_store(first)
    assert data.load_customer_store(first) is store  # one shared store per run

    publish_copy(own_root / "telco", own_root, "telco", "second")
    second = data.load_bundle("telco")
    assert second.run_id == "second" and second.path != first.path
    assert data.load_customer_store(second) is not store


@pytest.mark.parametrize("name", ["../etc", "..", ".runs", "/etc", "telco/../telco", ""])
def test_only_listed_bundles_are_opened(own_root, name):
    with pytest.raises(BundleError, match="no bundle named"):
        data.load_bundle(name)


def test_curves_of_every_model_are_loaded(own_root):
    bundle = data.load_bundle("telco")
    curves = data.load_curves(bundle)
    assert set(curves["model"]) == set(bundle.manifest["models"])
    assert set(curves["curve"]) == {"roc", "pr"}


def test_the_dashboard_allocates_arrow_memory_with_malloc():
    """Arrow's jemalloc kept each busy session thread's freed row groups (server RSS grew with sessions)."""
    import pyarrow as pa

    import dashboard.shell.data  # noqa: F401 - importing it is what configures the process

    assert pa.default_memory_pool().backend_name == "system"

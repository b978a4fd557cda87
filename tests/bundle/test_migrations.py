"""Bundles of older schema versions: the kept schema-2 bundle opens (migrated in memory,
never on disk); versions this reader can't open get a message naming the version and how
to retrain."""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from bundle import layout, migrations
from bundle.checks import bundle_problems
from bundle.manifest import manifest_problems, schema
from bundle.reader import BundleError, open_bundle
from store.customers import CustomerStore
from tests.conftest import REPO

V2_BUNDLE = REPO / "tests" / "fixtures" / "bundle-v2" / "tiny"
V3_BUNDLE = REPO / "tests" / "fixtures" / "bundle-v3" / "tiny"
V4_BUNDLE = REPO / "tests" / "fixtures" / "bundle-v4" / "tiny"
NOT_AUDITED = {
    "measured": False,
    "note": "trained before schema 5: no group metrics or error analysis; retrain to see them",
}
UNCALIBRATED = {
    "method": "none",
    "slope": 1.0,
    "intercept": 0.0,
    "rows": 0,
    "fitted_on": "none (trained before schema 4)",
}


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def v2_copy(tmp_path) -> Path:
    target = tmp_path / "tiny"
    shutil.copytree(V2_BUNDLE, target)
    return target


def test_the_kept_fixture_is_schema_2_as_written():
    on_disk = json.loads((V2_BUNDLE / layout.MANIFEST).read_text())
    assert on_disk["schema_version"] == 2
    assert all("parity" not in model for model in on_disk["models"].values())
    assert manifest_problems(on_disk, 2) == []
    assert manifest_problems(on_disk) == [
        "the manifest has no 'audit'",
        "the manifest has no 'history'",
        "'schema_version' should be 6",
        "'models.lin' has no 'parity'",
        "'models.lin' has no 'calibration'",
    ]


def test_a_schema_2_bundle_opens_migrated_in_memory_and_unchanged_on_disk(v2_copy):
    before = _digests(v2_copy)
    bundle = open_bundle(v2_copy)  # checksums verified: the files are as training wrote them
    assert bundle.manifest["schema_version"] == layout.SCHEMA_VERSION == 6
    assert bundle.manifest["models"]["lin"]["parity"] == {
        "reference": "none (trained before schema 3)",
        "max_abs_margin": None,
        "rows": 0,
    }
    assert bundle.manifest["models"]["lin"]["calibration"] == UNCALIBRATED
    assert bundle.manifest["audit"] == NOT_AUDITED
    assert bundle_problems(bundle) == []  # every content invariant, runtime parity included
    assert _digests(v2_copy) == before
    assert json.loads((v2_copy / layout.MANIFEST).read_text())["schema_version"] == 2


def test_a_migrated_bundle_serves_customers(v2_copy):
    store = CustomerStore(open_bundle(v2_copy))
    record = store.lookup("7")
    assert record.customer_id == 7 and record.label == 0 and record.split == "train"
    assert record.features == {"tenure": 30.0, "contract": "Yearly"}
    assert record.shap["lin"] == pytest.approx({"tenure": 1.0, "contract": 1.0})


def _with_version(bundle_dir: Path, version: int) -> None:
    manifest_file = bundle_dir / layout.MANIFEST
    manifest = json.loads(manifest_file.read_text())
    manifest["schema_version"] = version
    manifest_file.write_text(json.dumps(manifest))


def test_a_bundle_too_old_to_migrate_says_so_and_how_to_retrain(v2_copy):
    _with_version(v2_copy, 1)
    with pytest.raises(BundleError) as refused:
        open_bundle(v2_copy)
    assert str(refused.value) == (
        "Bundle 'tiny' has the old schema version 1, too old to migrate: this churnlens opens schema "
        "versions 2, 3, 4, 5, 6 (versions 2, 3, 4, 5 are upgraded when read). To use it, retrain it with "
        "`python -m training run --dataset tiny` (or `make train` for the built-in bundles)."
    )


def test_a_bundle_newer_than_the_reader_says_so(v2_copy):
    _with_version(v2_copy, 99)
    with pytest.raises(BundleError) as refused:
        open_bundle(v2_copy)
    message = str(refused.value)
    assert message.startswith("Bundle 'tiny' was made by a newer churnlens (schema version 99)")
    assert "this churnlens opens schema versions 2, 3, 4, 5, 6" in message
    assert "`python -m training run --dataset tiny`" in message and "`make train`" in message


def test_a_broken_schema_2_manifest_is_refused_with_the_reason_from_its_own_schema(v2_copy):
    manifest_file = v2_copy / layout.MANIFEST
    manifest = json.loads(manifest_file.read_text())
    del manifest["models"]["lin"]["runtime"]
    manifest_file.write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=r"its manifest is invalid: 'models\.lin' has no 'runtime'\.$"):
        open_bundle(v2_copy)


def test_every_readable_version_has_a_schema_and_a_step_to_the_next():
    assert migrations.READABLE[-1] == layout.SCHEMA_VERSION
    for version in migrations.READABLE:
        assert schema(version)["properties"]["schema_version"]["const"] == version
    assert set(migrations.STEPS) == set(migrations.READABLE[:-1])


def test_upgrading_leaves_the_input_alone():
    on_disk = json.loads((V2_BUNDLE / layout.MANIFEST).read_text())
    kept = copy.deepcopy(on_disk)
    upgraded = migrations.upgrade(on_disk)
    assert on_disk == kept
    assert upgraded["schema_version"] == 6 and manifest_problems(upgraded) == []


def test_the_kept_schema_3_bundle_opens_uncalibrated_and_unchanged_on_disk(tmp_path):
    target = tmp_path / "tiny"
    shutil.copytree(V3_BUNDLE, target)
    before = _digests(target)
    on_disk = json.loads((target / layout.MANIFEST).read_text())
    assert on_disk["schema_version"] == 3 and manifest_problems(on_disk, 3) == []
    bundle = open_bundle(target)
    assert bundle.manifest["models"]["lin"]["calibration"] == UNCALIBRATED
    assert bundle.manifest["models"]["lin"]["parity"] == on_disk["models"]["lin"]["parity"]
    assert bundle_problems(bundle) == []  # stored probabilities are sigmoid(margin): the identity map
    assert _digests(target) == before


def test_the_kept_schema_4_bundle_opens_without_an_audit_and_unchanged_on_disk(tmp_path):
    target = tmp_path / "tiny"
    shutil.copytree(V4_BUNDLE, target)
    before = _digests(target)
    on_disk = json.loads((target / layout.MANIFEST).read_text())
    assert on_disk["schema_version"] == 4 and "audit" not in on_disk and manifest_problems(on_disk, 4) == []
    bundle = open_bundle(target)
    assert bundle.manifest["audit"] == NOT_AUDITED
    assert bundle.manifest["models"]["lin"]["calibration"] == on_disk["models"]["lin"]["calibration"]
    assert bundle_problems(bundle) == []
    assert _digests(target) == before


def test_a_measured_audit_needs_its_record_and_its_tables(tmp_path):
    on_disk = json.loads((V4_BUNDLE / layout.MANIFEST).read_text())
    manifest = migrations.upgrade(on_disk)
    manifest["audit"]["measured"] = True
    problems = manifest_problems(manifest)
    assert "'audit' has no 'dimensions'" in problems and "'audit' has no 'bootstrap'" in problems


V5_BUNDLE = REPO / "tests" / "fixtures" / "bundle-v5" / "tiny"


def test_the_kept_schema_5_bundle_opens_without_a_training_snapshot_and_unchanged_on_disk(tmp_path):
    target = tmp_path / "tiny"
    shutil.copytree(V5_BUNDLE, target)
    before = _digests(target)
    on_disk = json.loads((target / layout.MANIFEST).read_text())
    assert on_disk["schema_version"] == 5 and "history" not in on_disk and manifest_problems(on_disk, 5) == []
    bundle = open_bundle(target)
    assert bundle.manifest["history"] == {
        "generation": on_disk["run_id"],
        "training_snapshot": None,
        "note": migrations.NO_TRAINING_SNAPSHOT_NOTE,
    }
    assert bundle_problems(bundle) == []
    assert _digests(target) == before

"""Bundle writer/reader round trip and the ways a bundle is refused."""

from __future__ import annotations

import json

import pytest

from bundle import layout
from bundle.reader import BundleError, list_bundles, open_bundle
from bundle.writer import RUNS_DIR, STAGING_DIR
from store.customers import CustomerStore, MalformedCustomerId, UnknownCustomer, parse_customer_id
from tests.bundle.tiny import write_tiny_bundle


def test_round_trip_publishes_through_a_symlink_and_verifies(tmp_path):
    published = write_tiny_bundle(tmp_path)
    assert (tmp_path / "tiny").is_symlink()
    reopened = open_bundle(tmp_path / "tiny")
    assert reopened.run_id == "run1" == published.run_id
    assert reopened.manifest["schema_version"] == layout.SCHEMA_VERSION
    assert set(reopened.manifest["files"]) >= {layout.CUSTOMERS, layout.shap_path("lin"), layout.CURVES}
    assert list_bundles(tmp_path) == ["tiny"]
    assert not any((tmp_path / STAGING_DIR / "tiny").iterdir())


def test_customer_store_finds_customers_and_explains_bad_ids(tmp_path):
    store = CustomerStore(write_tiny_bundle(tmp_path))
    record = store.lookup(" 7 ")
    assert record.customer_id == 7 and record.label == 0 and record.split == "train"
    assert record.features == {"tenure": 30.0, "contract": "Yearly"}
    assert record.shap["lin"] == pytest.approx({"tenure": 1.0, "contract": 1.0})
    # margins: id 3 → -2.45, id 11 → -2.0, id 7 → 1.0; two customers are scored lower than 7
    assert record.percentile["lin"] == pytest.approx(200 / 3)
    assert store.lookup(11).percentile["lin"] == pytest.approx(100 / 3)
    assert store.lookup(3).percentile["lin"] == 0.0
    with pytest.raises(UnknownCustomer, match="No customer with ID 8"):
        store.lookup("8")
    with pytest.raises(MalformedCustomerId, match="whole numbers"):
        store.lookup("abc")
    with pytest.raises(MalformedCustomerId):
        store.lookup("9" * 100)
    assert store.example_ids(2) == [3, 11]


def test_string_ids_refuse_odd_characters():
    assert parse_customer_id("7590-VHVEG", "string") == "7590-VHVEG"
    with pytest.raises(MalformedCustomerId):
        parse_customer_id("<script>", "string")


def test_checksum_mismatch_is_refused(tmp_path):
    bundle = write_tiny_bundle(tmp_path)
    target = bundle.path / layout.CUSTOMERS
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="corrupt: customers.parquet"):
        open_bundle(tmp_path / "tiny")


def test_missing_file_and_unknown_schema_version_are_refused(tmp_path):
    bundle = write_tiny_bundle(tmp_path)
    (bundle.path / layout.CURVES).unlink()
    with pytest.raises(BundleError, match="incomplete"):
        open_bundle(bundle.path)
    manifest = json.loads((bundle.path / layout.MANIFEST).read_text())
    manifest["schema_version"] = 99
    (bundle.path / layout.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="schema version 99"):
        open_bundle(bundle.path)
    (bundle.path / layout.MANIFEST).write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        open_bundle(bundle.path)


def test_a_failed_publish_leaves_the_live_bundle_untouched(tmp_path):
    good = write_tiny_bundle(tmp_path, run_id="good")
    with pytest.raises(BundleError, match="misses the log-odds"):
        write_tiny_bundle(tmp_path, run_id="bad", shap_offset=0.01)
    live = open_bundle(tmp_path / "tiny")
    assert live.run_id == "good" and live.path == good.path
    assert not (tmp_path / RUNS_DIR / "tiny" / "bad").exists()
    assert not any((tmp_path / STAGING_DIR / "tiny").iterdir())


def test_republishing_swaps_runs_and_keeps_one_for_rollback(tmp_path):
    for run_id in ("r1", "r2", "r3"):
        write_tiny_bundle(tmp_path, run_id=run_id)
    assert open_bundle(tmp_path / "tiny").run_id == "r3"
    assert sorted(p.name for p in (tmp_path / RUNS_DIR / "tiny").iterdir()) == ["r2", "r3"]


@pytest.mark.parametrize("name", ["../escape", ".runs", "a b", "", "x" * 65])
def test_invalid_bundle_names_are_refused(tmp_path, name):
    with pytest.raises(BundleError, match="not a valid bundle name"):
        write_tiny_bundle(tmp_path, name=name)


def test_a_rolled_back_run_survives_the_next_publish(tmp_path):
    for run_id in ("r1", "r2"):
        write_tiny_bundle(tmp_path, run_id=run_id)
    live = tmp_path / "tiny"
    live.unlink()
    live.symlink_to(f"{RUNS_DIR}/tiny/r1")  # an operator rolls back to r1
    write_tiny_bundle(tmp_path, run_id="r3")
    assert sorted(p.name for p in (tmp_path / RUNS_DIR / "tiny").iterdir()) == ["r1", "r3"]


@pytest.mark.parametrize("bad", [float("nan"), 1.5])
def test_impossible_probabilities_are_never_published(tmp_path, bad):
    write_tiny_bundle(tmp_path, run_id="good")
    with pytest.raises(BundleError, match="probabilities outside"):
        write_tiny_bundle(tmp_path, run_id="bad", probability_of_first=bad)
    assert open_bundle(tmp_path / "tiny").run_id == "good"


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m.update(models=["lin"]), "'models' should be a dict"),
        (lambda m: m.update(encoding=["tenure"]), "'encoding[0]' should be a dict"),
        (
            lambda m: m["files"].update({"../outside.txt": {"sha256": "0", "bytes": 0}}),
            "'../outside.txt' in 'files' leaves the bundle",
        ),
        (lambda m: m["files"].update({"/etc/passwd": {"sha256": "0", "bytes": 0}}), "'/etc/passwd' in 'files' leaves"),
        (lambda m: m["files"][layout.CUSTOMERS].pop("bytes"), """'files["customers.parquet"]' has no 'bytes'"""),
        (lambda m: m["models"]["lin"].update(shap=3), "'models.lin.shap' should be a dict"),
        (
            lambda m: m["models"]["lin"]["shap"].update(base_value="x"),
            "'models.lin.shap.base_value' should be a number",
        ),
        (lambda m: m["dataset"].update(rows="3"), "'dataset.rows' should be a whole number"),
        (lambda m: m["encoding"][0].update(kind="bucket"), "'encoding[0].kind' is 'bucket', not one of 'numeric'"),
        (lambda m: m.update(created_at=5), "'created_at' should be a str"),
        (lambda m: m.update(champion="forest"), "champion 'forest' is not one of the models"),
        (lambda m: m["features"].append(dict(m["features"][0])), "feature names repeat: tenure"),
        (lambda m: m["encoding"][0].update(feature="age"), "'encoding[0]' refers to unknown feature 'age'"),
        (lambda m: m["models"]["lin"].pop("parity"), "'models.lin' has no 'parity'"),
        (
            lambda m: m["models"]["lin"]["parity"].update(max_abs_margin=-1),
            "'models.lin.parity.max_abs_margin' should be a finite number of at least 0",
        ),
        # null is the marker of a migrated bundle only, never a measured one
        (
            lambda m: m["models"]["lin"]["parity"].update(max_abs_margin=None),
            "'models.lin.parity.reference' should be 'none (trained before schema 3)'",
        ),
        (lambda m: m["models"]["lin"]["parity"].update(rows=2.5), "'models.lin.parity.rows' should be a whole number"),
    ],
)
def test_misshapen_manifests_are_refused_with_a_reason(tmp_path, change, message):
    bundle = write_tiny_bundle(tmp_path)
    manifest = json.loads((bundle.path / layout.MANIFEST).read_text())
    change(manifest)
    (bundle.path / layout.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BundleError) as refused:
        open_bundle(bundle.path)
    assert str(refused.value).startswith("Bundle 'run1' is corrupt: its manifest is invalid: ")
    assert message in str(refused.value)
    assert "Failed validating" not in str(refused.value)  # never jsonschema's own dump


def test_staging_left_by_a_killed_run_is_cleared_later(tmp_path):
    import os
    import time

    stale = tmp_path / STAGING_DIR / "tiny" / "killed"
    recent = tmp_path / STAGING_DIR / "tiny" / "running"
    for leftover in (stale, recent):
        leftover.mkdir(parents=True)
    day_ago = time.time() - 24 * 3600
    os.utime(stale, (day_ago, day_ago))
    write_tiny_bundle(tmp_path)
    assert not stale.exists()
    assert recent.exists()  # may belong to a run still in progress


def test_refusals_name_the_bundle_not_the_run_directory(tmp_path):
    bundle = write_tiny_bundle(tmp_path, run_id="20261122T000000Z-abc")
    (bundle.path / layout.CURVES).write_bytes(b"changed")
    with pytest.raises(BundleError, match="^Bundle 'tiny' is corrupt"):
        open_bundle(tmp_path / "tiny")

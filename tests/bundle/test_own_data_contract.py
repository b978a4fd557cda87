"""Contract additions for own data: hashed IDs, risk bands, safe feature names (no Spark)."""

from __future__ import annotations

import numpy as np
import pytest

from analytics import risk
from bundle import ids
from bundle.reader import BundleError
from tests.bundle import tiny


def test_hmac_ids_round_trip_and_lookup_rules():
    key = b"0123456789abcdef-key"
    hashed = ids.hash_id("C 0001", key)
    assert len(hashed) == 64 and ids.looks_hashed(hashed) and hashed != ids.hash_id("C 0001", b"another-key-0123456")
    manifest = {"dataset": {"id_hashing": ids.manifest_entry()}}
    assert ids.stored_id(" C 0001 ", manifest, key) == hashed  # what a user types
    assert ids.stored_id(hashed.upper(), manifest, key) == hashed  # a shared link's hash
    assert ids.stored_id(hashed, manifest, None) == hashed
    with pytest.raises(ValueError, match="enter the hashed ID"):
        ids.stored_id("C 0001", manifest, None)
    assert ids.stored_id("42", {"dataset": {}}, key) == "42"  # unhashed bundles are untouched


def test_missing_or_short_keys_are_refused(monkeypatch):
    monkeypatch.delenv(ids.KEY_ENV, raising=False)
    with pytest.raises(ids.MissingKey, match="CHURNLENS_ID_KEY is not set"):
        ids.require_key()
    monkeypatch.setenv(ids.KEY_ENV, "short")
    with pytest.raises(ids.MissingKey, match="too short"):
        ids.require_key()


def test_risk_bands_split_training_scores_10_20_70():
    scores = np.linspace(0, 1, 1001)
    cuts = risk.cutoffs_from_scores(scores)
    bands = risk.band(scores, cuts)
    assert [round(float(np.mean(bands == b)), 2) for b in risk.BANDS] == [0.10, 0.20, 0.70]
    assert risk.band(0.95, cuts) == "high" and risk.band(0.0, cuts) == "low"


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m["models"]["lin"].update(risk_bands={"high": 0.2, "medium": 0.5}), "risk_bands must hold"),
        (lambda m: m["dataset"].update(id_hashing=ids.manifest_entry()), "not 64 hex digits"),
    ],
)
def test_own_data_invariants_are_checked_at_publish(tmp_path, monkeypatch, change, message):
    original = tiny.tiny_manifest

    def changed(*args):
        manifest = original(*args)
        change(manifest)
        return manifest

    monkeypatch.setattr(tiny, "tiny_manifest", changed)
    with pytest.raises(BundleError, match=message):
        tiny.write_tiny_bundle(tmp_path)

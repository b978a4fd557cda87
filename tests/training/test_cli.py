"""The training command line's behaviour on bad input and on ready bundles."""

from __future__ import annotations

from training.__main__ import main


def test_unknown_dataset_is_a_clear_error(capsys):
    assert main(["run", "--dataset", "nope"]) == 2
    assert "Unknown dataset 'nope'. Built-in datasets: movielens, synthetic, telco." in capsys.readouterr().err


def test_ensure_leaves_ready_bundles_alone(bundle_root, movielens_bundle_root, tmp_path, capsys):
    root = tmp_path / "artifacts"
    root.mkdir()
    for name, source in (("telco", bundle_root), ("movielens", movielens_bundle_root)):
        (root / name).symlink_to((source / name).resolve())
    before = {name: (root / name).resolve() for name in ("telco", "movielens")}
    assert main(["ensure", "--artifacts", str(root)]) == 0
    assert "ready" in capsys.readouterr().out
    assert {name: (root / name).resolve() for name in before} == before


def test_ensure_lists_missing_and_corrupt_bundles(bundle_root, tmp_path):
    import shutil

    from training.__main__ import _missing_bundles

    assert _missing_bundles(tmp_path) == ["telco", "movielens"]
    shutil.copytree(bundle_root / "telco", tmp_path / "telco")
    assert _missing_bundles(tmp_path) == ["movielens"]
    (tmp_path / "telco" / "customers.parquet").write_bytes(b"garbage")
    assert _missing_bundles(tmp_path) == ["telco", "movielens"]


def test_ensure_retrains_a_built_in_bundle_of_an_older_schema(tmp_path):
    """It would open (migrated), but without calibration, reason codes or an audit: `make demo` retrains it."""
    import shutil

    from bundle.reader import open_bundle
    from tests.conftest import REPO
    from training.__main__ import _missing_bundles

    shutil.copytree(REPO / "tests" / "fixtures" / "bundle-v4" / "tiny", tmp_path / "telco")
    assert open_bundle(tmp_path / "telco").manifest["schema_version"] == 6  # it opens, migrated
    assert _missing_bundles(tmp_path) == ["telco", "movielens"]


def test_a_bad_bundle_name_fails_before_spark_starts(capsys):
    assert main(["run", "--dataset", "telco", "--bundle", "../x"]) == 2
    assert "not a valid bundle name" in capsys.readouterr().err

"""A copy of the session's Telco bundle with simulated months scored into its history (months 2–5).

The months come from `training.datasets.monthly` on the bundle's own 1,200 customers: a price rise for
fiber-optic customers in month 3 and a contract-mix shift in month 5, plus ordinary noise."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

MONTHS = 5
START = "2026-01"


@pytest.fixture(scope="session")
def month_files(telco_bundle, tmp_path_factory) -> list[Path]:
    from bundle import layout
    from training.datasets import monthly

    ids = telco_bundle.read_table(layout.CUSTOMERS, columns=[layout.ID_COLUMN]).column(0).to_numpy()
    first = monthly.telco_first_month(ids)
    return monthly.write_months(first, tmp_path_factory.mktemp("months"), MONTHS, START)


@pytest.fixture(scope="session")
def history_root(spark, bundle_root, month_files, tmp_path_factory) -> Path:
    from bundle.reader import open_bundle
    from training.snapshot import score_snapshot

    root = tmp_path_factory.mktemp("history") / "artifacts"
    shutil.copytree(bundle_root, root, symlinks=True)
    for path in month_files:
        bundle = open_bundle(root / "telco", name="telco")
        score_snapshot(spark, bundle, str(path), None, path.stem, simulated=True)
    return root

"""The real thing, end to end: spark-submit trains the full Telco table.

Without tuning (one fit per model): the session's Telco bundle is tuned and its search is
tested there (test_pdp_and_tuning.py); a grid here would only repeat it at 6x the cost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bundle.checks import bundle_problems
from bundle.reader import open_bundle
from tests.conftest import REPO


@pytest.mark.slow
def test_spark_submit_trains_full_telco_to_a_good_champion(tmp_path):
    spark_submit = Path(sys.executable).parent / "spark-submit"
    env = {
        **os.environ,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }
    done = subprocess.run(
        [
            str(spark_submit),
            "--master",
            "local[2]",
            "training/__main__.py",
            "run",
            "--dataset",
            "telco",
            "--tuning",
            "off",
            "--artifacts",
            str(tmp_path),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "Published bundle 'telco'" in done.stdout
    bundle = open_bundle(tmp_path / "telco")
    manifest = bundle.manifest
    assert manifest["spark"]["master"] == "local[2]"  # spark-submit's master won over local[*]
    assert manifest["dataset"]["rows"] == 7043
    assert manifest["dataset"]["label_rate"] == pytest.approx(1869 / 7043)
    champion = manifest["models"][manifest["champion"]]
    assert champion["metrics"]["roc_auc"] >= 0.83
    assert bundle_problems(bundle) == []

"""Fixture ladder: one SparkSession → one small trained Telco bundle → pages.

Everything is real: local Spark, real models, real SHAP. The Spark data is kept
small (a reproducible sample, fewer trees) so the whole suite stays fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Before any JVM starts: loopback only, workers in this interpreter.
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
# Every chart a test draws is validated against Vega-Lite's schema (servers skip it: dashboard/draw.py).
os.environ.setdefault("CHURNLENS_VALIDATE_CHARTS", "1")

SAMPLE_ROWS = 1200
FAST_MODELS = {
    "logistic": {"maxIter": 50},
    "gbt": {"maxIter": 15},
    "xgboost": {"n_estimators": 80},
    "sklearn": {"max_iter": 50},
}


@pytest.fixture(scope="session")
def spark():
    from training.spark import get_spark

    session = get_spark("churnlens-tests", "local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def telco_spec():
    from training.datasets import builtin

    return builtin("telco")


@pytest.fixture(scope="session")
def bundle_root(spark, telco_spec, tmp_path_factory) -> Path:
    """An artifacts root holding a bundle named `telco`, trained on a sample."""
    from training.pipeline import RunConfig, run

    root = tmp_path_factory.mktemp("artifacts")
    run(spark, telco_spec, RunConfig(artifacts=root, sample=SAMPLE_ROWS, model_params=FAST_MODELS))
    return root


@pytest.fixture(scope="session")
def telco_bundle(bundle_root):
    from bundle.reader import open_bundle

    return open_bundle(bundle_root / "telco")


@pytest.fixture(scope="session")
def test_output() -> Path:
    """Git-ignored folder for screenshots and other artefacts worth keeping."""
    path = REPO / "test-output"
    path.mkdir(exist_ok=True)
    return path


# Word2Vec settings for the test bundle: the shipped defaults except a smaller
# t-SNE map, so the session stays quick (all 671 MovieLens users are used).
FAST_ITEMS = {"map_points": 400}


@pytest.fixture(scope="session")
def movielens_bundle_root(spark, tmp_path_factory) -> Path:
    """An artifacts root holding a bundle named `movielens` (behavioural churn + item vectors)."""
    from training.datasets import builtin
    from training.pipeline import RunConfig, run

    root = tmp_path_factory.mktemp("artifacts-movielens")
    run(spark, builtin("movielens"), RunConfig(artifacts=root, model_params=FAST_MODELS, item_params=FAST_ITEMS))
    return root


@pytest.fixture(scope="session")
def movielens_bundle(movielens_bundle_root):
    from bundle.reader import open_bundle

    return open_bundle(movielens_bundle_root / "movielens")


HISTORY_MONTHS = 5  # simulated months 2–5 (the training snapshot is month 1)
HISTORY_START = "2026-01"


@pytest.fixture(scope="session")
def month_files(telco_bundle, tmp_path_factory) -> list[Path]:
    from bundle import layout
    from training.datasets import monthly

    ids = telco_bundle.read_table(layout.CUSTOMERS, columns=[layout.ID_COLUMN]).column(0).to_numpy()
    first = monthly.telco_first_month(ids)
    return monthly.write_months(first, tmp_path_factory.mktemp("months"), HISTORY_MONTHS, HISTORY_START)


@pytest.fixture(scope="session")
def history_root(spark, bundle_root, month_files, tmp_path_factory) -> Path:
    """A copy of the Telco test bundle whose history holds the training snapshot and simulated months 2–5
    (tests/history/): a price rise for fiber-optic customers in month 3, a contract-mix shift in month 5."""
    import shutil

    from bundle.reader import open_bundle
    from training.snapshot import score_snapshot

    root = tmp_path_factory.mktemp("history") / "artifacts"
    shutil.copytree(bundle_root, root, symlinks=True)
    for path in month_files:
        bundle = open_bundle(root / "telco", name="telco")
        score_snapshot(spark, bundle, str(path), None, path.stem, simulated=True)
    return root

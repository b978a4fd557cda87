"""XGBoost imported for serving without scikit-learn: the model still runs exactly, scikit-learn
stays importable, and the block never reaches another thread or a process that has scikit-learn."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from runtime import xgboost_import

REPO = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter: the suite's own process imported scikit-learn long ago.
FRESH = """
import json, sys
import numpy as np, pyarrow.parquet as pq
from bundle import layout
from bundle.reader import open_bundle
from runtime.xgboost_import import import_xgboost_without_sklearn
from bundle.models import load_runtime

xgboost = import_xgboost_without_sklearn()
without = "sklearn" not in sys.modules and "scipy.stats" not in sys.modules
bundle = open_bundle(sys.argv[1])
runtime = load_runtime(bundle, "xgboost")
rows = pq.read_table(bundle.file(layout.CUSTOMERS)).to_pandas()
stored = pq.read_table(bundle.file(layout.predictions_path("xgboost"))).column(layout.MARGIN_COLUMN).to_numpy()
margin, phi = runtime.explain(rows)
gap = float(np.max(np.abs(margin - stored)))
shap = pq.read_table(bundle.file(layout.shap_path("xgboost"))).select(runtime.features).to_pandas().to_numpy()
shap_gap = float(np.max(np.abs(phi - shap)))
import sklearn.ensemble  # still importable afterwards, in full
print(json.dumps({"without": without, "gap": gap, "shap_gap": shap_gap, "compat": xgboost.compat.SKLEARN_INSTALLED,
                  "sklearn_ok": hasattr(sklearn.ensemble, "HistGradientBoostingClassifier"),
                  "version": xgboost.__version__}))
"""


def test_fresh_serving_process_runs_xgboost_exactly_without_sklearn(telco_bundle):
    out = subprocess.run(
        [sys.executable, "-c", FRESH, str(telco_bundle.path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # Both fail when an XGBoost upgrade needs scikit-learn at import (the finder then falls back to a
    # full import, silently, in production): the serving start-up gain is gone and the module is dead weight.
    upgrade = f"XGBoost {result['version']} no longer imports without scikit-learn: revisit runtime/xgboost_import.py"
    assert result["without"], "xgboost pulled scikit-learn or scipy.stats in. " + upgrade
    assert result["compat"] is False, "XGBoost's own no-scikit-learn mode is off. " + upgrade
    assert result["gap"] < 1e-5  # the bundle's stored margins, every customer
    assert result["shap_gap"] < 1e-5  # and its stored SHAP values
    assert result["sklearn_ok"]


def test_block_applies_to_the_importing_thread_only():
    finder = xgboost_import._Refused("sklearn", threading.get_ident(), "xgboost loads for serving")
    with pytest.raises(ModuleNotFoundError):
        finder.find_spec("sklearn")
    with pytest.raises(ModuleNotFoundError):
        finder.find_spec("sklearn.base")
    assert finder.find_spec("numpy") is None and finder.find_spec("sklearnish") is None
    seen = []
    other = threading.Thread(target=lambda: seen.append(finder.find_spec("sklearn")))
    other.start()
    other.join()
    assert seen == [None]  # another session's thread imports scikit-learn as usual


def test_process_with_sklearn_gets_the_usual_xgboost():
    import sklearn  # noqa: F401  (the training side of the suite has it anyway)

    xgboost = xgboost_import.import_xgboost_without_sklearn()
    assert xgboost.compat.SKLEARN_INSTALLED is True
    assert not any(isinstance(f, xgboost_import._Refused) for f in sys.meta_path)


def test_a_serving_process_loads_a_shap_model_without_pyspark(telco_bundle):
    """shap imports PySpark when it is installed; the runtime's tree models need none of it, and the
    dashboard never loads Spark (tests/dashboard/test_pages.py), now that the open check builds them."""
    code = f"""
import sys
from bundle.models import load_runtime
from bundle.reader import open_bundle
bundle = open_bundle({str(telco_bundle.path)!r}, check_scores=False)
kinds = [bundle.manifest["models"][m]["runtime"]["kind"] for m in bundle.manifest["models"]]
assert "tree" in kinds, kinds
for model in bundle.manifest["models"]:
    load_runtime(bundle, model)
assert "shap" in sys.modules
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("pyspark", "py4j"))
assert not bad, bad[:5]
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]

"""Shared, Streamlit-free helpers for the dashboard tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from streamlit.testing.v1 import AppTest

from bundle import layout
from bundle.reader import Bundle, open_bundle

REPO_ROOT = Path(__file__).resolve().parents[2]
APP = REPO_ROOT / "dashboard" / "app.py"


def telco(bundle_root: Path) -> Bundle:
    return open_bundle(bundle_root / "telco", name="telco")


def champion_predictions(bundle: Bundle) -> tuple[np.ndarray, np.ndarray]:
    """(customer ids, champion probabilities), aligned."""
    table = pq.read_table(bundle.file(layout.predictions_path(bundle.manifest["champion"])))
    return table.column(layout.ID_COLUMN).to_numpy(), table.column(layout.PROBABILITY_COLUMN).to_numpy()


def open_app(timeout: float, page: str | None = None, **params: str) -> AppTest:
    """Run the real app in AppTest with `params` as the URL's query; then switch to `page`
    (a path under dashboard/, e.g. "app_pages/items.py") and run it, if given."""
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    return at.switch_page(page).run() if page else at

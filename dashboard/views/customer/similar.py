"""Similar customers (nearest SHAP vectors) and Find customers (band + main reason, paged).

Both read only the store's in-memory arrays and send the browser one small
page of rows; nothing here builds a frame of every customer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.risk import BANDS, HIGH, LOW, MEDIUM, band_cutoffs
from dashboard.views.common import feature_labels, format_probability
from store.customers import CustomerStore

SIMILAR_K = 5
PAGE_SIZE = 25
ANY = "any"
SORTS = ("riskiest first", "least risky first")
ROW_COLUMNS = ["Customer", "Churn probability", "Main reason", "Actual outcome"]


def _outcome(label: int) -> str:
    return "Churned" if label == 1 else "Stayed"


def _rows(store: CustomerStore, model: str, positions: np.ndarray, labels: Mapping[str, str]) -> pd.DataFrame:
    p = store.probabilities(model)
    reasons = store.main_reasons(model)
    outcomes = store.labels()
    return pd.DataFrame(
        {
            "Customer": [str(store.customer_id(int(i))) for i in positions],
            "Churn probability": [format_probability(float(p[i])) for i in positions],
            "Main reason": [labels.get(store.features[reasons[i]], store.features[reasons[i]]) for i in positions],
            "Actual outcome": [_outcome(int(outcomes[i])) for i in positions],
        },
        columns=ROW_COLUMNS,
    )


def build_similar(
    store: CustomerStore, model: str, position: int, labels: Mapping[str, str], k: int = SIMILAR_K
) -> pd.DataFrame:
    """The k customers whose reasons (SHAP vectors under `model`) are closest to this one's."""
    positions, _ = store.nearest(model, position, k)
    return _rows(store, model, positions, labels)


@dataclass(frozen=True)
class FindPage:
    rows: pd.DataFrame
    total: int  # customers matching the filter
    page: int  # 1-based, clamped into range
    pages: int


def find_customers(
    store: CustomerStore,
    manifest: Mapping,
    model: str,
    band: str = HIGH,
    reason: str = ANY,
    sort: str = SORTS[0],
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> FindPage:
    """One page of the customers in `band` (or any) whose main reason is `reason` (or any)."""
    if band not in (*BANDS, ANY):
        raise ValueError(f"Unknown risk band {band!r}")
    if sort not in SORTS:
        raise ValueError(f"Unknown sort {sort!r}")
    p = store.probabilities(model)
    cutoffs = manifest["models"][model].get("risk_bands") or band_cutoffs(p)
    mask = np.ones(len(p), dtype=bool)
    if band == HIGH:
        mask &= p >= cutoffs[HIGH]
    elif band == MEDIUM:
        mask &= (p >= cutoffs[MEDIUM]) & (p < cutoffs[HIGH])
    elif band == LOW:
        mask &= p < cutoffs[MEDIUM]
    if reason != ANY:
        if reason not in store.features:
            raise ValueError(f"Unknown feature {reason!r}")
        mask &= store.main_reasons(model) == store.features.index(reason)
    matching = np.flatnonzero(mask)
    total = len(matching)
    pages = max(1, -(-total // page_size))
    page = min(max(1, int(page)), pages)
    # Stable sort on probability so equal scores keep row (ID) order and paging is deterministic.
    key = -p[matching] if sort == SORTS[0] else p[matching]
    ordered = matching[np.argsort(key, kind="stable")]
    shown = ordered[(page - 1) * page_size : page * page_size]
    labels = feature_labels(manifest)
    return FindPage(rows=_rows(store, model, shown, labels), total=total, page=page, pages=pages)

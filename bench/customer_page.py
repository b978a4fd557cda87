"""Server-side time to build the customer page's data for one customer:
the ID lookup in the shared store plus the waterfall rows, over many IDs."""

from __future__ import annotations

import time

import numpy as np

from bundle.reader import Bundle
from dashboard.views import build_customer_view
from store.customers import CustomerStore


def measure(bundle: Bundle, lookups: int, seed: int = 0) -> dict:
    started = time.perf_counter()
    store = CustomerStore(bundle)
    load_s = time.perf_counter() - started
    ids = np.random.default_rng(seed).choice(store.example_ids(len(store)), size=lookups)
    timings = []
    for customer_id in ids:
        started = time.perf_counter()
        build_customer_view(bundle, store, str(customer_id))
        timings.append(time.perf_counter() - started)
    ms = np.array(timings) * 1000
    return {
        "lookups": lookups,
        "store_load_s": load_s,
        "median_ms": float(np.median(ms)),
        "p95_ms": float(np.percentile(ms, 95)),
        "max_ms": float(ms.max()),
    }

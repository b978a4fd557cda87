"""Item neighbour queries: exact cosine top-k with NumPy at the bundle's size and at
1M random 64-d vectors, plus the Items page's map payload."""

from __future__ import annotations

import json
import time

import numpy as np

from bundle.reader import Bundle
from dashboard.charts import items as item_charts
from dashboard.views.items import build_map_points, build_neighbours, catalog_from_bundle
from store import items as im


def _query_ms(index: im.ItemIndex, queries: int, seed: int) -> np.ndarray:
    picks = np.random.default_rng(seed).choice(len(index), size=queries)
    timings = []
    for position in picks:
        started = time.perf_counter()
        im.nearest(index, index.unit[position], 10, exclude=(int(position),))
        timings.append(time.perf_counter() - started)
    return np.array(timings) * 1000


def measure(bundle: Bundle, queries: int = 200, big_rows: int = 1_000_000, seed: int = 0) -> dict:
    catalog = catalog_from_bundle(bundle)
    small = _query_ms(catalog.index, queries, seed)
    rng = np.random.default_rng(seed)
    big = im.ItemIndex.from_arrays(
        np.arange(big_rows).astype(str), rng.standard_normal((big_rows, 64), dtype=np.float32)
    )
    large = _query_ms(big, max(20, queries // 4), seed)
    item = str(catalog.items.sort_values("users", ascending=False)["item_id"].iloc[0])
    neighbours = build_neighbours(catalog, item, 10)
    highlight = {i: "neighbour" for i in neighbours["item_id"]} | {item: "query"}
    points = build_map_points(catalog, highlight, "tsne")
    payload = json.dumps(item_charts.item_map_chart(points).to_dict()).encode()
    return {
        "neighbour_items": len(catalog.index),
        "neighbour_query_ms": float(np.median(small)),
        "neighbour_query_p95_ms": float(np.percentile(small, 95)),
        "neighbour_query_ms_1m": float(np.median(large)),
        "neighbour_query_p95_ms_1m": float(np.percentile(large, 95)),
        "item_map_points": len(points),
        "item_map_payload_bytes": len(payload),
    }

"""The explainerdashboard comparison's own logic on tiny inputs: row tiling, slot names, the process
tree it samples, the flat keys and their ratios. Needs neither `.venv-ed` nor a JVM."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench import vs_explainerdashboard as vs
from bench.ed_ours import mean_abs_shap


def _customers(ids) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ids, "label": [1, 0, 1], "tenure": [1.0, 2.0, 3.0]})


def test_tiled_customers_are_copies_with_new_unique_sorted_ids():
    source = _customers([5, 7, 9])
    tiled = vs.tile_customers(source, 7)
    assert len(tiled) == 7
    assert tiled["customer_id"].is_unique and tiled["customer_id"].is_monotonic_increasing
    assert tiled["customer_id"].iloc[:3].tolist() == [5, 7, 9]  # copy 0 keeps the original IDs
    by_id = source.set_index("customer_id")
    span = 9 - 5 + 1
    for _, row in tiled.iterrows():
        original = by_id.loc[5 + (row["customer_id"] - 5) % span]  # copy c has id + c * span
        assert (row["tenure"], row["label"]) == (original["tenure"], original["label"])


def test_tiled_string_ids_stay_unique_and_keep_their_rows():
    source = _customers(["b", "a", "c"])
    tiled = vs.tile_customers(source, 5)
    assert tiled["customer_id"].is_unique and len(tiled) == 5
    tenure = dict(zip(source["customer_id"], source["tenure"], strict=True))
    assert all(tenure[i.split(".")[0]] == t for i, t in zip(tiled["customer_id"], tiled["tenure"], strict=True))


def test_slot_names_name_one_hot_slots_by_category_and_refuse_collisions():
    encoding: list[dict] = [
        {"feature": "tenure", "kind": "numeric", "fill": 1.0},
        {"feature": "contract", "kind": "onehot", "category": "Month-to-month"},
        {"feature": "contract", "kind": "onehot", "category": "Two year"},
    ]
    assert vs.slot_names(encoding) == ["tenure", "contract_Month-to-month", "contract_Two year"]
    with pytest.raises(ValueError):
        vs.slot_names([{"feature": "a_b", "kind": "numeric"}, {"feature": "a", "kind": "onehot", "category": "b"}])


def test_descendants_follow_the_whole_tree_and_nothing_else():
    parents = {1: 0, 10: 1, 11: 10, 12: 10, 13: 12, 20: 1, 21: 20}
    assert vs.descendants(parents, 10) == {10, 11, 12, 13}
    assert vs.descendants(parents, 21) == {21}


def _sides(ed_total: float, ours_total: float, ed_rss: float, ours_rss: float) -> tuple[dict, dict, dict, dict]:
    ed = {
        "total_s": ed_total,
        "peak_rss_mb": ed_rss,
        "columns": 40,
        "seconds": {
            "imports": 5.0,
            "load": 1.0,
            "explainer": 1.0,
            "shap": 80.0,
            "mean_abs_shap": 0.0,
            "permutation": 10.0,
            "pdp": 9.0,
            "dashboard": 60.0,
        },
    }
    ours = {
        "total_s": ours_total,
        "seconds": {
            "imports": 2.0,
            "spark_start": 8.0,
            "read": 3.0,
            "pipeline_load": 2.0,
            "encode": 1.0,
            "shap": 10.0,
            "mean_abs_shap": 0.1,
            "pdp": 6.0,
            "permutation": 2.0,
        },
    }
    ed_tree = {"peak_rss_mb": ed_rss + 30.0, "processes": 1}
    ours_tree = {
        "peak_rss_mb": ours_rss,
        "peak_pss_mb": ours_rss * 0.8,
        "peak_jvm_rss_mb": ours_rss * 0.7,
        "processes": 6,
    }
    return ed, ours, ed_tree, ours_tree


def test_figures_are_flat_ratios_named_by_size():
    found = vs.figures("100k", *_sides(ed_total=106.0, ours_total=40.0, ed_rss=500.0, ours_rss=1500.0))
    assert found["ed_speedup_100k"] == 2.65  # 106 / 40: end to end, start-up on both sides
    assert found["ed_speedup_stages_100k"] == 3.33  # (1 + 80 + 0 + 10 + 9) / (40 - 2 - 8)
    assert found["ed_rss_ratio_100k"] == 3.0  # ours over explainerdashboard's: > 1 means we use more
    assert found["ed_compute_s_100k"] == 100.0
    assert found["ours_stages_s_100k"] == 30.0
    assert found["ed_dashboard_s_100k"] == 60.0 and found["ours_spark_start_s_100k"] == 8.0
    assert found["ed_rss_mb_100k"] == 500.0 and found["ed_tree_rss_mb_100k"] == 530.0
    assert found["ours_jvm_rss_mb_100k"] == 1050.0
    assert all(isinstance(v, (int, float)) for v in found.values())
    assert all(k.endswith("_100k") for k in found)


def test_figures_say_when_we_are_lower_and_faster():
    found = vs.figures("10k", *_sides(ed_total=300.0, ours_total=60.0, ed_rss=900.0, ours_rss=450.0))
    assert found["ed_speedup_10k"] == 5.0
    assert found["ed_rss_ratio_10k"] == 0.5


def test_mean_abs_shap_streams_every_part_file(tmp_path):
    files = []
    for i, values in enumerate(([1.0, -3.0], [-2.0])):
        path = tmp_path / f"part-{i:05d}.parquet"
        pq.write_table(pa.table({"a": values, "b": [v * 10 for v in values]}), path)
        files.append(path)
    np.testing.assert_allclose(mean_abs_shap(files, ["a", "b"]), [2.0, 20.0])


def test_waiting_for_load_stops_as_soon_as_it_is_low(monkeypatch):
    loads = iter([4.0, 3.1, 1.2])
    monkeypatch.setattr(vs, "load_average", lambda: next(loads))
    sleeps: list[float] = []
    monkeypatch.setattr(vs.time, "sleep", sleeps.append)
    _, load = vs.wait_for_load(2.5, minutes=40)
    assert load == 1.2 and sleeps == [60, 60]

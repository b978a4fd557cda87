"""`make bench-scale`'s keys come out flat and named by size, from a manifest's timings and memory."""

from __future__ import annotations

from bench.scale_training import figures, size_label


def test_size_labels():
    assert [size_label(n) for n in (1_000_000, 100_000, 2_500)] == ["1m", "100k", "2500"]


def test_figures_are_flat_per_stage_keys():
    manifest = {
        "dataset": {"rows": 100_000},
        "spark": {"master": "local[2]"},
        "timings": {"score + SHAP": 30.0, "evaluate": 2.5},
        "memory": {
            "score + SHAP": {
                "driver_python_peak_mb": 210.0,
                "driver_python_peak_scope": "stage",
                "driver_jvm_heap_peak_mb": 700.0,
            },
            "evaluate": {
                "driver_python_peak_mb": 260.0,
                "driver_python_peak_scope": "stage",
                "driver_jvm_heap_peak_mb": 300.0,
            },
        },
    }
    found = figures(manifest, wall_s=61.23, max_rss_mb=1500.0, customers=100_000)
    assert found["scale_train_100k_s"] == 61.2
    assert found["scale_train_100k_stages_s"] == 32.5
    assert found["scale_train_100k_score_shap_s"] == 30.0
    assert found["scale_train_100k_evaluate_peak_mb"] == 260.0
    assert found["scale_train_100k_driver_peak_mb"] == 260.0
    assert found["scale_train_100k_jvm_heap_peak_mb"] == 700.0
    assert found["scale_train_100k_customers"] == 100_000
    assert all(not isinstance(v, (dict, list)) for v in found.values())


def test_the_open_check_is_timed_on_its_own(tmp_path):
    """`open_check_ms_1m` comes from `open_check_ms`, run here on the three-customer bundle
    (the 1M figure itself takes `make bench-scale`)."""
    from bench.scale_store import open_check_ms
    from tests.bundle.tiny import write_tiny_bundle

    bundle = write_tiny_bundle(tmp_path)
    assert open_check_ms(bundle) > 0.0


def test_history_bench_plumbing_at_a_small_size(tmp_path):
    """`history_lookup_ms_1m`, `monitoring_page_ms_1m` and `snapshot_bytes_per_customer` come from
    `bench.history.measure` on snapshots built through the real append path; here 3 of 2,000 customers."""
    from bench import history as bench_history

    bench_history.build(tmp_path, customers=2000, snapshots=3)
    found = bench_history.measure(tmp_path, lookups=20)
    assert set(found) == {
        "history_lookup_ms_2k", "history_lookup_p50_ms_2k", "history_open_ms_2k", "history_snapshots_2k",
        "monitoring_page_ms_2k", "snapshot_bytes_per_customer",
    }  # fmt: skip
    assert found["history_snapshots_2k"] == 3 and found["snapshot_bytes_per_customer"] > 0

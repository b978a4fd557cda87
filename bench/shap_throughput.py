"""Batch SHAP on Spark vs raw `xgboost` pred_contribs on the same cores.

Both sides explain the same rows with the bundle's XGBoost model. The baseline
calls `Booster.predict(pred_contribs=True)` in this process with one thread per
core; the Spark side runs the training pipeline's own `runtime_frame` stage in
`local[N]` (one task per core) on a cached DataFrame of the raw feature rows plus their reference
encoding (the stage encodes the rows with `runtime.encode_rows`, explains them and checks the
encoding against the reference, as in training), so Spark start-up, worker start-up and data
loading are excluded and only the stage itself is timed. The
two alternate, and the ratio is the median of the paired runs' ratios.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np
import pyarrow as pa
import xgboost

from bundle import layout
from bundle.manifest import feature_names
from bundle.reader import Bundle
from runtime import encode_rows


def _rows(bundle: Bundle, count: int) -> tuple[pa.Table, np.ndarray]:
    """`count` raw customer rows (the bundle's, repeated) and their encoded slots."""
    customers = bundle.read_table(layout.CUSTOMERS)
    picks = np.arange(count) % customers.num_rows
    rows = customers.take(pa.array(picks)).select(feature_names(bundle.manifest))
    return rows, encode_rows(rows.to_pandas(), bundle.manifest["encoding"])


def measure(bundle: Bundle, rows: int, cores: int, repeats: int) -> dict:
    from training import explain
    from training.models import FittedModel
    from training.spark import get_spark

    raw_rows, x = _rows(bundle, rows)
    raw = bundle.file(bundle.manifest["models"]["xgboost"]["runtime"]["files"]["model.ubj"]).read_bytes()
    booster = xgboost.Booster()
    booster.load_model(bytearray(raw))
    booster.set_param({"nthread": cores})
    matrix = xgboost.DMatrix(x, nthread=cores)

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = get_spark("churnlens-bench", f"local[{cores}]")
    names = feature_names(bundle.manifest)
    model = FittedModel(
        name="xgboost",
        family="xgboost",
        display_name="XGBoost",
        params={},
        training_seconds=0.0,
        runtime="xgboost",
        portable={"model.ubj": raw},
    )
    # The reference encoding as one array<double> column, as `explain.with_references` hands it over.
    offsets = pa.array(np.arange(0, x.size + 1, x.shape[1], dtype=np.int32))
    table = raw_rows.add_column(0, layout.ID_COLUMN, pa.array(np.arange(len(x), dtype=np.int64))).append_column(
        explain.REFERENCE_SLOTS, pa.ListArray.from_arrays(offsets, pa.array(x.ravel()))
    )
    referenced = spark.createDataFrame(table).repartition(cores).cache()
    referenced.count()
    encoding, keep = bundle.manifest["encoding"], [layout.ID_COLUMN, *names]

    def spark_stage() -> None:
        stage = explain.runtime_frame(referenced, [model], encoding, names, keep)
        stage.write.format("noop").mode("overwrite").save()

    spark_stage()  # untimed: starts the Python workers once, as a long pipeline run would
    # Baseline and Spark runs alternate, so a slow spell of this shared machine hits both alike.
    baseline, spark_times = [], []
    for _ in range(repeats):
        baseline.append(_timed(lambda: booster.predict(matrix, pred_contribs=True)))
        spark_times.append(_timed(spark_stage))
    spark.stop()
    ratios = sorted(s / b for s, b in zip(spark_times, baseline, strict=True))
    base, spark_time = statistics.median(baseline), statistics.median(spark_times)
    return {
        "rows": rows,
        "cores": cores,
        "baseline_s": base,
        "spark_s": spark_time,
        "baseline_rows_per_s": rows / base,
        "spark_rows_per_s": rows / spark_time,
        "ratio": statistics.median(ratios),
        "ratio_range": (ratios[0], ratios[-1]),
    }


def _timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started

"""Batch SHAP on Spark vs raw `xgboost` pred_contribs on the same cores.

Both sides explain the same rows with the bundle's XGBoost model. The baseline
calls `Booster.predict(pred_contribs=True)` in this process with one thread per
core; the Spark side runs the training pipeline's own `shap_frame` stage in
`local[N]` (one task per core) on a cached DataFrame, so Spark start-up and data
loading are excluded and only the stage itself is timed.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np
import pandas as pd
import xgboost

from bundle import layout
from bundle.encoding import encode_rows
from bundle.manifest import feature_names
from bundle.reader import Bundle


def _rows(bundle: Bundle, count: int) -> np.ndarray:
    customers = bundle.read_table(layout.CUSTOMERS).to_pandas()
    x = encode_rows(customers, bundle.manifest["encoding"])
    return np.tile(x, (int(np.ceil(count / len(x))), 1))[:count]


def measure(bundle: Bundle, rows: int, cores: int, repeats: int) -> dict:
    from pyspark.sql import functions as F

    from training import explain, features
    from training.spark import get_spark

    x = _rows(bundle, rows)
    raw = (bundle.path / bundle.manifest["models"]["xgboost"]["files"]["xgboost"]).read_bytes()
    booster = xgboost.Booster()
    booster.load_model(bytearray(raw))
    booster.set_param({"nthread": cores})
    matrix = xgboost.DMatrix(x, nthread=cores)
    baseline = []
    for _ in range(repeats):
        started = time.perf_counter()
        booster.predict(matrix, pred_contribs=True)
        baseline.append(time.perf_counter() - started)

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = get_spark("churnlens-bench", f"local[{cores}]")
    names = feature_names(bundle.manifest)
    grouping = features.grouping_matrix(bundle.manifest["encoding"], names)
    slots = explain.slot_columns(x.shape[1])
    frame = pd.DataFrame(x, columns=slots).assign(**{layout.ID_COLUMN: np.arange(len(x))})
    slotted = spark.createDataFrame(frame).repartition(cores).cache()
    slotted.count()
    spark_times = []
    for _ in range(repeats):
        stage = explain.shap_frame(slotted, {"xgboost": {"kind": "xgboost", "model": raw}}, grouping, names, [layout.ID_COLUMN])
        started = time.perf_counter()
        stage.write.format("noop").mode("overwrite").save()
        spark_times.append(time.perf_counter() - started)
    checksum = stage.agg(F.sum(explain.shap_column("xgboost", names[0]))).first()[0]
    spark.stop()
    base, spark_time = statistics.median(baseline), statistics.median(spark_times)
    return {
        "rows": rows,
        "cores": cores,
        "baseline_s": base,
        "spark_s": spark_time,
        "baseline_rows_per_s": rows / base,
        "spark_rows_per_s": rows / spark_time,
        "ratio": spark_time / base,
        "checksum": checksum,
    }

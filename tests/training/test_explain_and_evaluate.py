"""Runtime kernels and metrics on small hand-checkable arrays (no Spark needed)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xgboost

from runtime import build_kernel
from training import evaluate


def test_linear_shap_is_exact_and_centred_on_the_mean():
    linear = {"coefficients": [2.0, -1.0], "intercept": 0.5, "feature_means": [1.0, 3.0]}
    kernel = build_kernel("linear", {"linear.json": json.dumps(linear).encode()})
    x = np.array([[1.0, 3.0], [2.0, 0.0]])
    phi, base = kernel.contributions(x)
    assert np.allclose(phi, [[0.0, 0.0], [2.0, 3.0]])
    assert np.allclose(base, 0.5 + 2.0 - 3.0)
    assert np.allclose(kernel.margin(x), [0.5 + 2.0 - 3.0, 0.5 + 4.0])


def test_xgboost_shap_sums_to_the_boosters_margin():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] * x[:, 2] > 0).astype(int)
    booster = xgboost.train({"max_depth": 3, "objective": "binary:logistic"}, xgboost.DMatrix(x, label=y), 20)
    kernel = build_kernel("xgboost", {"model.ubj": bytes(booster.save_raw("ubj"))})
    phi, base = kernel.contributions(x)
    margin = booster.predict(xgboost.DMatrix(x), output_margin=True)
    assert np.max(np.abs(base + phi.sum(axis=1) - margin)) < 1e-5
    assert np.max(np.abs(kernel.margin(x) - margin)) < 1e-6
    assert np.ptp(base) == 0


def test_grouped_shap_keeps_the_sum():
    phi = np.array([[0.1, 0.2, -0.3], [1.0, 0.0, 0.5]])
    grouping = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])  # slots 1 and 2 are one feature
    grouped = phi @ grouping
    assert np.allclose(grouped, [[0.1, -0.1], [1.0, 0.5]])
    assert np.allclose(grouped.sum(axis=1), phi.sum(axis=1))


def test_metrics_at_the_threshold():
    y = np.array([0, 0, 1, 1, 1, 0])
    p = np.array([0.1, 0.6, 0.7, 0.4, 0.9, 0.2])
    metrics = evaluate.evaluate(y, p, threshold=0.5)
    assert metrics["confusion"] == {"tn": 2, "fp": 1, "fn": 1, "tp": 2}
    assert metrics["precision"] == pytest.approx(2 / 3) and metrics["recall"] == pytest.approx(2 / 3)
    assert metrics["accuracy"] == pytest.approx(4 / 6)
    assert metrics["roc_auc"] == pytest.approx(8 / 9)  # 8 of 9 positive/negative pairs ordered right
    assert metrics["brier"] == pytest.approx(np.mean((p - y) ** 2))


def test_curves_are_thinned_but_keep_their_ends():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 5000)
    p = np.clip(y * 0.3 + rng.random(5000) * 0.7, 0, 1)
    curves = evaluate.curves("m", y, p)
    for kind in ("roc", "pr"):
        part = curves[curves.curve == kind]
        assert 2 < len(part) <= evaluate.MAX_CURVE_POINTS
    roc = curves[curves.curve == "roc"]
    assert (roc.x.iloc[0], roc.y.iloc[0], roc.x.iloc[-1], roc.y.iloc[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert roc.threshold.max() <= 1.0


def test_slot_matrix_reads_list_columns_row_by_row_including_sliced_and_chunked_ones():
    import pyarrow as pa

    from training.explain import slot_matrix

    rows = pa.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]], pa.list_(pa.float64()))
    assert slot_matrix(rows, 3).tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    # A sliced batch starts at an offset into the shared values buffer.
    assert slot_matrix(rows.slice(1, 2), 3).tolist() == [[4, 5, 6], [7, 8, 9]]
    assert slot_matrix(pa.chunked_array([rows.slice(0, 1), rows.slice(2, 1)]), 3).tolist() == [[1, 2, 3], [7, 8, 9]]
    with pytest.raises(ValueError, match="expected 2 slots per row"):
        slot_matrix(rows, 2)


def _bundle_rows_encoded_by_spark(spark, bundle):
    """The bundle's customers as Spark frames: raw rows and Spark PipelineModel's encoding of them."""
    from pyspark.ml import PipelineModel

    from bundle import layout
    from training import features

    customers = spark.read.parquet(bundle.file(layout.CUSTOMERS).resolve().as_uri())
    pipeline = PipelineModel.load(str(bundle.path / "features" / "spark_pipeline"))
    return features.encode(pipeline, customers)


def test_every_model_records_its_parity_with_the_reference_on_every_row(telco_bundle):
    from bundle import layout

    rows = len(pq_ids(telco_bundle, layout.CUSTOMERS))
    references = {
        "logistic": "Spark LogisticRegressionModel.transform",
        "gbt": "Spark GBTClassificationModel.transform",
        "xgboost": "XGBoost Booster.predict(output_margin=True) on Spark PipelineModel slots",
        "sklearn": "scikit-learn decision_function on Spark PipelineModel slots",
    }
    for model, entry in telco_bundle.manifest["models"].items():
        parity = entry["parity"]
        assert set(parity) == {"reference", "max_abs_margin", "max_abs_probability", "rows"}
        assert 0.0 <= parity["max_abs_probability"] <= 1e-6, (model, parity)
        assert parity["reference"] == references[model] and parity["rows"] == rows
        assert 0.0 <= parity["max_abs_margin"] <= 1e-6, (model, parity)


def pq_ids(bundle, relpath):
    import pyarrow.parquet as pq

    from bundle import layout

    return pq.read_table(bundle.file(relpath), columns=[layout.ID_COLUMN]).column(0).to_numpy()


def test_stored_margins_equal_spark_and_the_model_libraries_on_sparks_encoding(spark, telco_bundle):
    """Checked here independently of training's own parity pass: Spark ML models' own transform, and
    XGBoost / scikit-learn predicting on Spark's encoding, give the margins the bundle stores."""
    import pyarrow.parquet as pq
    import skops.io
    from pyspark.ml.classification import GBTClassificationModel, LogisticRegressionModel
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    from bundle import layout
    from runtime.sklearn_hgb import SKLEARN_TRUSTED_TYPES

    encoded = _bundle_rows_encoded_by_spark(spark, telco_bundle)
    slots = encoded.select(layout.ID_COLUMN, vector_to_array(F.col("features")).alias("x")).toPandas()
    slots = slots.sort_values(layout.ID_COLUMN)
    x = np.vstack(slots["x"].to_numpy())
    spark_models = {
        "logistic": (LogisticRegressionModel.load, 1.0),
        "gbt": (GBTClassificationModel.load, 2.0),
    }
    for model in telco_bundle.manifest["models"]:
        stored = pq.read_table(telco_bundle.file(layout.predictions_path(model))).to_pandas()
        stored = stored.sort_values(layout.ID_COLUMN)[layout.MARGIN_COLUMN].to_numpy()
        folder = telco_bundle.path / layout.model_dir(model)
        if model in spark_models:
            load, scale = spark_models[model]
            out = load(str(folder / "spark")).transform(encoded)
            margin = vector_to_array(F.col("rawPrediction"))[1] * scale
            ref: pd.DataFrame = out.select(layout.ID_COLUMN, margin.alias("m")).toPandas()
            reference = ref.sort_values(layout.ID_COLUMN)["m"].to_numpy()
        elif model == "xgboost":
            booster = xgboost.Booster()
            booster.load_model(str(folder / "model.ubj"))
            reference = booster.predict(xgboost.DMatrix(x), output_margin=True)
        else:
            content = (folder / "model.skops").read_bytes()
            reference = skops.io.loads(content, trusted=list(SKLEARN_TRUSTED_TYPES)).decision_function(x)
        assert np.max(np.abs(stored - reference)) < 1e-5, model  # XGBoost predicts in float32


def test_a_broken_encoder_fails_the_parity_check(spark, telco_bundle, tmp_path):
    """Two one-hot categories swapped in the runtime's encoding: Spark's reference encoding disagrees on the
    written rows, and the run is refused with the size of the gap."""
    from bundle import layout
    from bundle.manifest import feature_names
    from training import explain
    from training.scoring import model_from_bundle

    encoding = [dict(slot) for slot in telco_bundle.manifest["encoding"]]
    onehots = [i for i, s in enumerate(encoding) if s["kind"] == "onehot" and s["feature"] == "contract"]
    first, second = onehots[0], onehots[1]
    encoding[first]["category"], encoding[second]["category"] = (
        encoding[second]["category"],
        encoding[first]["category"],
    )
    names = feature_names(telco_bundle.manifest)
    model = model_from_bundle(telco_bundle, "logistic")
    frame = explain.score_and_explain(
        _bundle_rows_encoded_by_spark(spark, telco_bundle), [model], encoding, names, [layout.ID_COLUMN, *names]
    )
    frame.write.parquet((tmp_path / "broken").as_uri())
    with pytest.raises(explain.ParityError, match="runtime encoder differs from Spark's PipelineModel encoding by 1"):
        explain.parity(spark, tmp_path / "broken", [model])
    with pytest.raises(explain.ParityError, match="'logistic': runtime margins differ from Spark LogisticRegression"):
        explain.parity(spark, tmp_path / "broken", [model])


def test_the_driver_and_the_workers_write_the_same_scores(spark, telco_bundle, tmp_path):
    """Small tables are explained on the driver, large ones in Spark's Python workers: the same
    `explain_batches` on the same sorted rows, so both write the same rows, values and schema."""
    import pyarrow.parquet as pq

    from bundle import layout
    from bundle.manifest import feature_names
    from training import explain
    from training.scoring import model_from_bundle

    names = feature_names(telco_bundle.manifest)
    models = [model_from_bundle(telco_bundle, m) for m in ("logistic", "gbt", "xgboost", "sklearn")]
    encoded = _bundle_rows_encoded_by_spark(spark, telco_bundle)
    keep, encoding = [layout.ID_COLUMN, *names], telco_bundle.manifest["encoding"]
    rows = encoded.count()
    tables = {}
    for where, driver_rows in (("driver", rows), ("workers", rows - 1)):
        files = explain.write_explained(encoded, models, encoding, names, keep, tmp_path / where, rows, driver_rows)
        tables[where] = pq.ParquetFile(files[0]).schema_arrow, pq.read_table(files).combine_chunks()
    assert len(list((tmp_path / "driver").glob("part-*"))) == 1
    assert len(list((tmp_path / "workers").glob("part-*"))) >= 1
    (driver_schema, driver), (workers_schema, workers) = tables["driver"], tables["workers"]
    assert driver_schema.remove_metadata().equals(workers_schema.remove_metadata())
    assert driver.num_rows == workers.num_rows == rows
    assert driver.column(layout.ID_COLUMN).to_pylist() == sorted(driver.column(layout.ID_COLUMN).to_pylist())
    assert driver.equals(workers.cast(driver.schema))

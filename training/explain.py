"""Score every customer and compute SHAP values for every model, in batch on Spark.

Each model's explainer data (coefficients, parsed trees, an XGBoost booster as
UBJSON bytes) is broadcast once; `mapInPandas` explains whole Arrow batches, and
each Python worker builds an explainer once per broadcast and reuses it. SHAP
values of one-hot slots are summed back to the feature they encode, so every
model's explanations are in the features a user knows, in log-odds.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import numpy as np
import pandas as pd
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from training.features import FEATURES_COLUMN
from training.models import FittedModel

_WORKER_EXPLAINERS: dict[str, object] = {}


def slot_columns(n_slots: int) -> list[str]:
    return [f"_slot{i}" for i in range(n_slots)]


def with_slot_columns(encoded: DataFrame, n_slots: int) -> DataFrame:
    """Replace the vector column by one double column per slot (cheap in Arrow)."""
    array = vector_to_array(F.col(FEATURES_COLUMN))
    return encoded.select("*", *(array[i].alias(name) for i, name in enumerate(slot_columns(n_slots)))).drop(
        FEATURES_COLUMN
    )


def probability_column(model: str) -> str:
    return f"{model}__probability"


def margin_column(model: str) -> str:
    return f"{model}__margin"


def shap_column(model: str, feature: str) -> str:
    return f"{model}__shap__{feature}"


def _build(spec: dict) -> object:
    if spec["kind"] == "xgboost":
        import xgboost

        booster = xgboost.Booster()
        booster.load_model(bytearray(spec["model"]))
        # One Spark task per core: more threads per task would only contend.
        booster.set_param({"nthread": 1})
        return booster
    if spec["kind"] == "tree":
        import shap

        model = {"trees": spec["trees"], "base_offset": spec["base_offset"]}
        return shap.TreeExplainer(model)
    return None


def slot_shap(spec: dict, explainer: object, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-slot SHAP values and per-row base values, in log-odds."""
    if spec["kind"] == "linear":
        phi = (x - spec["mean"]) * spec["coef"]
        base = spec["intercept"] + float(np.dot(spec["coef"], spec["mean"]))
        return phi, np.full(len(x), base)
    if spec["kind"] == "xgboost":
        import xgboost

        contribs = explainer.predict(xgboost.DMatrix(x, nthread=1), pred_contribs=True)
        return contribs[:, :-1], contribs[:, -1]
    values = explainer.shap_values(x, check_additivity=False) * spec["scale"]
    base = float(np.ravel(explainer.expected_value)[0]) * spec["scale"]
    return values, np.full(len(x), base)


def base_value(spec: dict, n_slots: int) -> float:
    """The model's expected log-odds over the background (constant for these explainers)."""
    _, base = slot_shap(spec, _build(spec), np.zeros((1, n_slots)))
    return float(base[0])


def explain_batches(
    batches: Iterator[pd.DataFrame],
    specs: dict[str, object],
    grouping: np.ndarray,
    feature_names: list[str],
    passthrough: list[str],
) -> Iterator[pd.DataFrame]:
    slots = slot_columns(grouping.shape[0])
    for batch in batches:
        x = batch[slots].to_numpy(dtype=np.float64)
        out = {name: batch[name] for name in passthrough}
        for model, broadcast in specs.items():
            spec = broadcast.value
            if spec["token"] not in _WORKER_EXPLAINERS:
                _WORKER_EXPLAINERS[spec["token"]] = _build(spec)
            phi, _ = slot_shap(spec, _WORKER_EXPLAINERS[spec["token"]], x)
            grouped = phi @ grouping
            for j, feature in enumerate(feature_names):
                out[shap_column(model, feature)] = grouped[:, j]
        yield pd.DataFrame(out)


def shap_frame(
    slotted: DataFrame,
    explainers: dict[str, dict],
    grouping: np.ndarray,
    feature_names: list[str],
    passthrough: list[str],
) -> DataFrame:
    """`slotted` (from `with_slot_columns`) → passthrough columns + SHAP per model and feature."""
    sc = slotted.sparkSession.sparkContext
    # The token lets a reused Python worker keep one explainer per broadcast.
    specs = {model: sc.broadcast({**spec, "token": uuid.uuid4().hex}) for model, spec in explainers.items()}
    fields = [slotted.schema[name] for name in passthrough] + [
        T.StructField(shap_column(m, f), T.DoubleType(), False) for m in explainers for f in feature_names
    ]
    return slotted.mapInPandas(
        lambda batches: explain_batches(batches, specs, grouping, feature_names, passthrough),
        schema=T.StructType(fields),
    )


def score(encoded: DataFrame, models: list[FittedModel]) -> DataFrame:
    """Each model's own probability and log-odds for every row, as plain columns."""
    scored = encoded
    for model in models:
        transformed = model.transformer.transform(scored)
        scored = transformed.select(
            *scored.columns,
            vector_to_array(F.col("probability"))[1].alias(probability_column(model.name)),
            (vector_to_array(F.col("rawPrediction"))[1] * F.lit(model.margin_scale)).alias(margin_column(model.name)),
        )
    return scored


def score_and_explain(
    encoded: DataFrame,
    models: list[FittedModel],
    grouping: np.ndarray,
    feature_names: list[str],
    keep: list[str],
) -> DataFrame:
    """`keep` columns + every model's probability, margin and per-feature SHAP."""
    scored = score(encoded, models)
    passthrough = keep + [c for m in models for c in (probability_column(m.name), margin_column(m.name))]
    slotted = with_slot_columns(scored.select(*passthrough, FEATURES_COLUMN), grouping.shape[0])
    return shap_frame(slotted, {m.name: m.explainer for m in models}, grouping, feature_names, passthrough)

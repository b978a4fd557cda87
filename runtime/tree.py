"""Runtime kind "tree": any tree ensemble in shap's array form (`trees.json`)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from runtime.kernels import model_json, register
from runtime.xgboost_import import import_shap_without_pyspark


@register("tree")
class TreeKernel:
    """Path-dependent TreeSHAP through shap's own tree model.

    `scale` turns the ensemble's raw output into log-odds (Spark's GBT reports
    half the log-odds, so its scale is 2).
    """

    def __init__(self, files: Mapping[str, bytes]) -> None:
        shap = import_shap_without_pyspark()  # heavy; only models that need it pay for it

        spec = model_json(files, "trees.json")
        trees = [{key: np.asarray(value) for key, value in tree.items()} for tree in spec["trees"]]
        self.scale = float(spec.get("scale", 1.0))
        self.explainer = shap.TreeExplainer({"trees": trees, "base_offset": float(spec["base_offset"])})
        self.base = float(np.ravel(self.explainer.expected_value)[0]) * self.scale
        # shap's array form records split features, not the input width: a tree that never splits
        # on the last columns is still valid, so only a lower bound is known (see `fits`).
        self.input_width: int | None = None
        self.min_width = 1 + max((int(np.max(t["features"], initial=-1)) for t in trees), default=-1)

    def margin(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.explainer.model.predict(x), dtype=np.float64) * self.scale

    def contributions(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = np.asarray(self.explainer.shap_values(x, check_additivity=False), dtype=np.float64) * self.scale
        return values, np.full(len(x), self.base)

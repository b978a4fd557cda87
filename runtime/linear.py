"""Runtime kind "linear": logistic regression from `linear.json`."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from runtime.kernels import model_json, register


@register("linear")
class LinearKernel:
    """margin = b + w·x; exact SHAP w_j (x_j - E[x_j]) against the training means."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        spec = model_json(files, "linear.json")
        self.coef = np.asarray(spec["coefficients"], dtype=np.float64)
        self.intercept = float(spec["intercept"])
        self.mean = np.asarray(spec["feature_means"], dtype=np.float64)
        self.base = self.intercept + float(self.coef @ self.mean)
        self.input_width: int | None = len(self.coef)

    def margin(self, x: np.ndarray) -> np.ndarray:
        return x @ self.coef + self.intercept

    def contributions(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (x - self.mean) * self.coef, np.full(len(x), self.base)

"""The one sigmoid, and `ModelRuntime`: one model runnable on raw feature rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from runtime.encoding import encode_rows, grouping_matrix
from runtime.kernels import Kernel, build_kernel


def sigmoid(margin: np.ndarray | float) -> np.ndarray:
    """Numerically safe logistic function (no overflow for large |margin|)."""
    m = np.asarray(margin, dtype=np.float64)
    out = np.empty_like(m)
    positive = m >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-m[positive]))
    z = np.exp(m[~positive])
    out[~positive] = z / (1.0 + z)
    return out


@dataclass(frozen=True)
class ModelRuntime:
    """One model, runnable on raw feature rows (what the customers table holds).

    Shared read-only by every dashboard session: nothing here mutates state
    after construction.
    """

    model: str
    kind: str
    kernel: Kernel = field(repr=False)
    encoding: list[dict] = field(repr=False)
    features: list[str]
    grouping: np.ndarray = field(repr=False)  # (slots x features) 0/1
    base_value: float  # log-odds every explanation starts from

    @classmethod
    def from_files(
        cls, model: str, kind: str, files: Mapping[str, bytes], encoding: list[dict], features: list[str]
    ) -> ModelRuntime:
        """Build from portable files; raises `runtime.ModelFileError` with a readable message."""
        kernel = build_kernel(kind, files)
        _, base = kernel.contributions(np.zeros((1, len(encoding))))
        return cls(
            model=model,
            kind=kind,
            kernel=kernel,
            encoding=encoding,
            features=features,
            grouping=grouping_matrix(encoding, features),
            base_value=float(base[0]),
        )

    def encode(self, rows: pd.DataFrame) -> np.ndarray:
        return encode_rows(rows, self.encoding)

    def margin(self, rows: pd.DataFrame) -> np.ndarray:
        """Log-odds of churning for each raw row."""
        return self.kernel.margin(self.encode(rows))

    def probability(self, rows: pd.DataFrame) -> np.ndarray:
        return sigmoid(self.margin(rows))

    def shap(self, rows: pd.DataFrame) -> np.ndarray:
        """(rows x features) SHAP values in log-odds, one-hot slots summed to their feature."""
        phi, _ = self.kernel.contributions(self.encode(rows))
        return phi @ self.grouping

    def explain(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(margin, SHAP per feature) from one encoding of the rows."""
        x = self.encode(rows)
        phi, _ = self.kernel.contributions(x)
        return self.kernel.margin(x), phi @ self.grouping

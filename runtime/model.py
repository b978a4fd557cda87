"""`ModelRuntime`: one model runnable on raw feature rows, calibrated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from runtime.calibration import IDENTITY, Calibration
from runtime.encoding import encode_rows, grouping_matrix
from runtime.errors import ModelFileError
from runtime.kernels import Kernel, build_kernel


def check_width(kernel: Kernel, columns: int) -> None:
    """Refuse an encoding whose column count differs from what the model file was trained on,
    before any row reaches the model (XGBoost would fail deep inside with a shape error)."""
    width = getattr(kernel, "input_width", None)
    least = getattr(kernel, "min_width", 0)
    if (width is not None and width != columns) or columns < least:
        expected = width if width is not None else f"at least {least}"
        raise ModelFileError(
            f"the model file takes {expected} input columns but the manifest's features and encoding give {columns}"
        )


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
    base_value: float  # the model's log-odds every explanation starts from
    calibration: Calibration = IDENTITY

    @classmethod
    def from_files(
        cls,
        model: str,
        kind: str,
        files: Mapping[str, bytes],
        encoding: list[dict],
        features: list[str],
        calibration: Calibration = IDENTITY,
    ) -> ModelRuntime:
        """Build from portable files; raises `runtime.ModelFileError` with a readable message."""
        kernel = build_kernel(kind, files)
        check_width(kernel, len(encoding))
        _, base = kernel.contributions(np.zeros((1, len(encoding))))
        return cls(
            model=model,
            kind=kind,
            kernel=kernel,
            encoding=encoding,
            features=features,
            grouping=grouping_matrix(encoding, features),
            base_value=float(base[0]),
            calibration=calibration,
        )

    def encode(self, rows: pd.DataFrame) -> np.ndarray:
        return encode_rows(rows, self.encoding)

    def margin(self, rows: pd.DataFrame) -> np.ndarray:
        """The model's own log-odds of churning for each raw row (before calibration)."""
        return self.kernel.margin(self.encode(rows))

    def probability(self, rows: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of churning: what is stored and shown."""
        return self.calibration.probability(self.margin(rows))

    def probability_of(self, margin: np.ndarray | float) -> np.ndarray:
        """Calibrated probability of margins already computed (kernel.margin of encoded rows)."""
        return self.calibration.probability(margin)

    def shap(self, rows: pd.DataFrame) -> np.ndarray:
        """(rows x features) SHAP values in log-odds, one-hot slots summed to their feature."""
        phi, _ = self.kernel.contributions(self.encode(rows))
        return phi @ self.grouping

    def explain(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(margin, SHAP per feature) from one encoding of the rows."""
        x = self.encode(rows)
        phi, _ = self.kernel.contributions(x)
        return self.kernel.margin(x), phi @ self.grouping

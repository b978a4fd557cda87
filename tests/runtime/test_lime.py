"""LIME, as the dashboard runs it (dashboard/views/customer/lime_check.explain_lime), on real small models.

Two things must hold for LIME beside SHAP to mean anything: the rows LIME
perturbs reach the model encoded exactly as the runtime encoder encodes them
(else LIME explains a different model input than SHAP does), and on a model whose
answer is known (a logistic regression with strong effects) LIME's weights point
the known way.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from dashboard.views.customer.lime_check import explain_lime
from runtime import Kernel, ModelRuntime, encode_rows
from tests.runtime.conftest import CONTRACTS, ENCODING, MANIFEST, NAMES, model_runtime

SAMPLES = 500  # lime_check's minimum


class RecordingKernel:
    """The real kernel, unchanged, that also keeps every slot matrix it is asked to score."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.inputs: list[np.ndarray] = []

    def margin(self, x: np.ndarray) -> np.ndarray:
        self.inputs.append(np.array(x, dtype=np.float64, copy=True))
        return self.kernel.margin(x)

    def contributions(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.inputs.append(np.array(x, dtype=np.float64, copy=True))
        return self.kernel.contributions(x)


def hostile_rows(count: int, seed: int) -> pd.DataFrame:
    """Raw rows as a user or a customers table may hold them: unknown categories, gaps, text in number columns."""
    rng = np.random.default_rng(seed)
    contracts = [*CONTRACTS, "Lifetime", "", "month-to-month", None, np.nan]
    numbers = [lambda: float(np.round(rng.uniform(0, 72) * 4) / 4), lambda: None, lambda: np.nan, lambda: "12.5"]
    return pd.DataFrame(
        {
            "tenure": [numbers[rng.integers(len(numbers))]() for _ in range(count)],
            "charges": [numbers[rng.integers(len(numbers))]() for _ in range(count)],
            "partner": [[0, 1, None, np.nan][rng.integers(4)] for _ in range(count)],
            "contract": [contracts[rng.integers(len(contracts))] for _ in range(count)],
        }
    )


def lime_first_input(runtime: ModelRuntime, row: pd.Series, background: pd.DataFrame) -> np.ndarray:
    """The slots LIME feeds the model for the customer itself (LIME scores the unperturbed row first)."""
    recording = RecordingKernel(runtime.kernel)
    spy = dataclasses.replace(runtime, kernel=recording)
    explain_lime(spy, MANIFEST, row.to_dict(), background, samples=SAMPLES, seed=3)
    assert recording.inputs, "LIME scored nothing through the model's kernel"
    return recording.inputs[0][0]


@pytest.mark.parametrize("family", ["logistic", "gbt", "xgboost", "sklearn"])
def test_lime_feeds_the_model_the_runtime_encoders_slots(family, fit, training):
    runtime = model_runtime(fit(family))
    rows = hostile_rows(12, seed=5)
    expected = encode_rows(rows, ENCODING)
    background = training.raw.iloc[:100]
    for i in range(len(rows)):
        got = lime_first_input(runtime, rows.iloc[i], background)
        np.testing.assert_array_equal(got, expected[i], err_msg=f"raw row {rows.iloc[i].to_dict()}")


@pytest.mark.parametrize(
    ("customer", "signs"),
    [
        # Long tenure, high charges, a partner, a two-year contract: each value sits above the
        # training mean (or is the category named), so LIME's sign is the coefficient's sign.
        (
            {"tenure": 70.0, "charges": 118.0, "partner": 1, "contract": "Two year"},
            {"tenure": -1, "charges": 1, "partner": -1, "contract": -1},
        ),
        # The mirror customer: every reason flips.
        (
            {"tenure": 1.0, "charges": 22.0, "partner": 0, "contract": "Month-to-month"},
            {"tenure": 1, "charges": -1, "partner": 1, "contract": 1},
        ),
    ],
)
def test_lime_recovers_the_signs_of_a_logistic_models_coefficients(customer, signs, fit, training):
    fitted = fit("logistic")
    from pyspark.ml.classification import LogisticRegressionModel

    model = fitted.reference.transformer
    assert isinstance(model, LogisticRegressionModel)
    weights = dict(zip(["tenure", "charges", "partner"], model.coefficients.toArray()[:3], strict=True))
    # The fitted model learned the effects the labels were drawn with (else the check below is moot).
    assert weights["tenure"] < 0 < weights["charges"] and weights["partner"] < 0
    result = explain_lime(model_runtime(fitted), MANIFEST, customer, training.raw, samples=2000, seed=0)
    got = {name: int(np.sign(result.weights[name])) for name in NAMES}
    assert got == signs, f"LIME weights {result.weights}"
    assert min(abs(w) for w in result.weights.values()) > 0.01

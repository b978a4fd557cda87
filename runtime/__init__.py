"""JVM-free models: one encoder, one sigmoid, margin and SHAP per runtime kind.

The one place models run. Training's Spark workers (explain pass, batch scoring,
partial dependence), permutation importance, the bundle's parity check and the
dashboard all call the names below on the same portable model files, so stored
and live scores cannot drift apart. Spark ML and xgboost.spark only fit models;
their own `transform` is a reference that parity checks compare against.

Layout: `kernels` (the `Kernel` protocol and the `KINDS` registry), one module per
runtime kind (`linear`, `tree`, `xgb`, `sklearn_hgb`; each registers itself when
imported here), `encoding` (the one encoder), `calibration` (the one `sigmoid` and the
calibration map), `model` (`ModelRuntime`). Portable files are JSON or the library's own safe format (XGBoost
UBJSON, scikit-learn via skops with an explicit trusted-type list); nothing here
unpickles anything. This package imports nothing else of ours: its refusals are
`ModelFileError`.
"""

from runtime import linear, sklearn_hgb, tree, xgb  # noqa: F401  (each registers its kind)
from runtime.calibration import IDENTITY, Calibration, sigmoid
from runtime.encoding import encode_rows, grouping_matrix
from runtime.errors import ModelFileError
from runtime.kernels import KINDS, Kernel, build_kernel, register
from runtime.model import ModelRuntime

__all__ = [
    "IDENTITY",
    "Calibration",
    "KINDS",
    "Kernel",
    "ModelFileError",
    "ModelRuntime",
    "build_kernel",
    "encode_rows",
    "grouping_matrix",
    "register",
    "sigmoid",
]

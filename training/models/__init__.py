"""Model families: the registry the pipeline trains from.

A family is one `fit(train, seed, overrides) -> FittedModel` function. The
`FittedModel` says everything the rest of the run needs, so adding a family
touches only this registry and its own module:

- how it scores on Spark (`transformer`, the family's own code; `None` lets the
  shared runtime score it inside the explain stage);
- its portable form (`runtime` kind + `portable` files), which `runtime.core`
  loads without a JVM — in Spark's explain workers and in the dashboard alike;
- how to save anything else worth keeping (`save_native`, e.g. Spark ML's own format).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.ml import Transformer
from pyspark.sql import DataFrame


@dataclass
class FittedModel:
    name: str
    family: str
    display_name: str
    params: dict
    training_seconds: float
    runtime: str  # a `runtime.core.KINDS` key
    # Portable model files ({file name: bytes}) for `runtime.core`: written
    # under models/<name>/ and broadcast once to the explain stage's workers.
    portable: dict[str, bytes] = field(repr=False)
    transformer: Transformer | None = field(default=None, repr=False)
    # log-odds = margin_scale * rawPrediction[1]: Spark's GBT reports half the log-odds.
    margin_scale: float = 1.0
    # Writes other files under a directory; returns {role: path relative to it}.
    save_native: Callable[[Path], dict[str, str]] | None = field(default=None, repr=False)
    # Extra facts for the manifest entry (e.g. tuning results).
    extra: dict = field(default_factory=dict)


# fit(train, seed, overrides, tuning_mode=...) -> FittedModel; `overrides` fix
# parameters (they are then not searched), `tuning_mode` is a `training.tuning.MODES` entry.
Fit = Callable[..., FittedModel]


def families() -> dict[str, Fit]:
    """Model key → fit function, in the order models are trained and shown."""
    from training.models import sklearn_hgb, spark_ml, xgb

    return {
        "logistic": spark_ml.fit_logistic,
        "gbt": spark_ml.fit_gbt,
        "xgboost": xgb.fit_xgboost,
        "sklearn": sklearn_hgb.fit_sklearn,
    }

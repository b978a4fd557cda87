"""Model families. Each module's `fit` trains on the encoded training rows and
returns a `FittedModel`: the Spark transformer that scores every customer, the
data a worker needs to explain it, and how to save it in a safe format."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.ml import Transformer


@dataclass
class FittedModel:
    name: str
    family: str
    display_name: str
    params: dict
    training_seconds: float
    transformer: Transformer = field(repr=False)
    # log-odds = margin_scale * rawPrediction[1]: Spark's GBT reports half the log-odds.
    margin_scale: float
    # Plain arrays/bytes shipped to Spark workers once (see training.explain).
    explainer: dict = field(repr=False)
    # Writes the model under a directory; returns {role: path relative to it}.
    save: Callable[[Path], dict[str, str]] = field(repr=False)

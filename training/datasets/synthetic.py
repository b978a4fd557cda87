"""Synthetic customers whose churn comes from a known function of their features.

Generated on Spark from `spark.range(n)`: every random draw is a hash of
(seed, draw number, customer ID), so the table is the same for a seed on any
cluster layout, and generating 100 million customers is as parallel as Spark is.

Churn log-odds (the ground truth the tests check explanations against)::

    z = -1.2
        + 1.3 · [contract = month-to-month] - 1.0 · [contract = two-year]     main effect
        - 0.045 · (tenure_months - 36)                                          main effect
        + 0.5 · (support_calls - 1)                                             main effect
        + 0.025 · (monthly_spend - 70)                                          main effect
        - 1.0 · has_discount                                                    main effect
        + 0.5 · (support_calls - 1) · [contract = month-to-month]               interaction
    churned ~ Bernoulli(sigmoid(z))

Pure noise, independent of everything: `noise_score` (normal), `noise_percent`
(uniform 0–100) and `noise_region` (4 equally likely regions).
"""

from __future__ import annotations

import math

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from training import events as ev
from training.datasets.spec import DatasetSpec, FeatureSpec
from training.events import EventSource

DEFAULT_CUSTOMERS = 20_000
DRIVERS = ("contract", "tenure_months", "support_calls", "monthly_spend", "has_discount")
NOISE = ("noise_score", "noise_percent", "noise_region")

FEATURES = (
    FeatureSpec("tenure_months", "numeric", "Tenure (months)"),
    FeatureSpec("contract", "categorical", "Contract", actionable=True),
    FeatureSpec("monthly_spend", "numeric", "Monthly spend ($)"),
    FeatureSpec("support_calls", "numeric", "Support calls (last quarter)"),
    FeatureSpec("has_discount", "binary", "Has a discount", actionable=True),
    FeatureSpec("noise_score", "numeric", "Noise: score"),
    FeatureSpec("noise_percent", "numeric", "Noise: percent"),
    FeatureSpec("noise_region", "categorical", "Noise: region"),
)


def _uniform(seed: int, draw: int) -> Column:
    """A deterministic U[0, 1) per customer and draw: 53 bits of xxhash64(seed, draw, id)."""
    bits = F.pmod(F.xxhash64(F.lit(seed), F.lit(draw), F.col("id")), F.lit(2**53))
    return bits.cast("double") / float(2**53)


def _normal(seed: int, draw: int) -> Column:
    # Box–Muller; 1 - u keeps the log finite.
    return F.sqrt(-2.0 * F.log(1.0 - _uniform(seed, draw))) * F.cos(2 * math.pi * _uniform(seed, draw + 1))


def log_odds() -> Column:
    """The true churn log-odds of each generated customer (also used by tests)."""
    m2m = (F.col("contract") == "month-to-month").cast("double")
    two_year = (F.col("contract") == "two-year").cast("double")
    calls = F.col("support_calls") - 1.0
    return (
        F.lit(-1.2)
        + 1.3 * m2m
        - 1.0 * two_year
        - 0.045 * (F.col("tenure_months") - 36.0)
        + 0.5 * calls
        + 0.025 * (F.col("monthly_spend") - 70.0)
        - 1.0 * F.col("has_discount")
        + 0.5 * calls * m2m
    )


def generate(spark: SparkSession, customers: int, seed: int) -> DataFrame:
    base = spark.range(1, customers + 1).select(
        F.col("id"),
        F.floor(1 + 71 * _uniform(seed, 1)).cast("double").alias("tenure_months"),
        F.greatest(F.lit(10.0), F.round(70 + 25 * _normal(seed, 2), 2)).alias("monthly_spend"),
        F.floor(-F.log(1.0 - _uniform(seed, 4)) * 1.5).cast("double").alias("support_calls"),
        F.when(_uniform(seed, 5) < 0.5, "month-to-month")
        .when(_uniform(seed, 5) < 0.8, "one-year")
        .otherwise("two-year")
        .alias("contract"),
        (_uniform(seed, 6) < 0.3).cast("int").alias("has_discount"),
        F.round(_normal(seed, 7), 4).alias("noise_score"),
        F.round(100 * _uniform(seed, 9), 2).alias("noise_percent"),
        F.element_at(
            F.array(*(F.lit(r) for r in ("north", "south", "east", "west"))),
            (F.floor(4 * _uniform(seed, 10)) + 1).cast("int"),
        ).alias("noise_region"),
    )
    churned = _uniform(seed, 11) < 1.0 / (1.0 + F.exp(-log_odds()))
    return base.select(
        F.col("id").alias("customer_id"),
        F.when(churned, "yes").otherwise("no").alias("churned"),
        *(F.col(f.name) for f in FEATURES),
    )


def generate_events(spark: SparkSession, customers: int, per_customer: int, seed: int) -> DataFrame:
    """`per_customer` events per customer on average (user, item, timestamp, value) over 2026.

    Support-heavy customers browse the help pages (items 900–909) more; the rest pick from 200 items.
    """
    events = spark.range(0, customers * per_customer).select((F.col("id") % customers + 1).alias("user"), F.col("id"))
    help_page = _uniform(seed, 21) < 0.1
    return events.select(
        F.col("user"),
        F.when(help_page, 900 + F.floor(10 * _uniform(seed, 22)))
        .otherwise(F.floor(200 * _uniform(seed, 23)))
        .cast("long")
        .alias("item"),
        F.timestamp_seconds(F.lit(1_767_225_600) + F.floor(365 * 86_400 * _uniform(seed, 24)).cast("long")).alias(
            "timestamp"
        ),
        F.round(1 + 4 * _uniform(seed, 25)).alias("value"),
    )


def event_source(customers: int, per_customer: int, seed: int) -> EventSource:
    """generate_events() in the canonical columns of training/events.py, with a catalogue of its 210 items.

    No churn window: the label stays the known-driver one; events add item vectors and recent items only."""

    def load(spark: SparkSession) -> tuple[DataFrame, DataFrame]:
        events = generate_events(spark, customers, per_customer, seed).select(
            F.col("user").alias(ev.USER),
            F.col("item").cast("string").alias(ev.ITEM),
            F.col("timestamp").alias(ev.TS),
            F.col("value").cast("double").alias(ev.VALUE),
        )
        help_page = F.col("id") >= 900
        items = (
            spark.range(0, 910)
            .where((F.col("id") < 200) | help_page)
            .select(
                F.col("id").cast("string").alias(ev.ITEM),
                F.when(help_page, F.concat(F.lit("Help page "), (F.col("id") - 899).cast("string")))
                .otherwise(F.concat(F.lit("Product "), F.col("id").cast("string")))
                .alias(ev.TITLE),
                F.lit(None).cast("double").alias(ev.YEAR),
                F.when(help_page, "Help").otherwise("Catalogue").alias(ev.GENRES),
            )
        )
        return events, items

    return EventSource(load=load, window=None, genres=())


def spec(customers: int = DEFAULT_CUSTOMERS, seed: int = 42, events_per_customer: int = 0) -> DatasetSpec:
    if events_per_customer < 0:
        raise ValueError("--events-per-customer: expected a whole number of at least 0")
    events = f", {events_per_customer} events per customer (item vectors)" if events_per_customer else ""
    return DatasetSpec(
        name="synthetic",
        source=f"synthetic: {customers} customers, seed {seed}, known log-odds{events} "
        "(training/datasets/synthetic.py)",
        id_column="customer_id",
        label_column="churned",
        positive_label="yes",
        features=FEATURES,
        load=lambda spark: generate(spark, customers, seed),
        events=event_source(customers, events_per_customer, seed) if events_per_customer else None,
    )

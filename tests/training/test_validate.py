"""Input validation: each problem is one line naming the column and the count."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from training.validate import ValidationError, validate


@pytest.fixture(scope="module")
def rows(spark, telco_spec):
    return telco_spec.load(spark).orderBy("rownames").limit(60).cache()


def problems_of(table, spec) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        validate(table, spec)
    return caught.value.problems


def test_clean_rows_become_a_typed_table(rows, telco_spec):
    typed = validate(rows, telco_spec)
    assert typed.columns[:2] == ["customer_id", "label"]
    assert dict(typed.dtypes)["tenure"] == "double"
    assert sorted(r.label for r in typed.select("label").distinct().collect()) == [0, 1]


def test_missing_column_is_named(rows, telco_spec):
    assert problems_of(rows.drop("tenure"), telco_spec) == [
        "column 'tenure': required by dataset 'telco' but not in the input table"
    ]


def test_duplicate_ids_are_counted(rows, telco_spec):
    dupes = rows.withColumn("rownames", F.when(F.col("rownames") <= 3, F.lit(1)).otherwise(F.col("rownames")))
    assert problems_of(dupes, telco_spec) == [
        "column 'rownames': 2 rows repeat a customer ID that is already used, e.g. '1'"
    ]


def test_label_must_have_exactly_two_classes(rows, telco_spec):
    three = rows.withColumn("churn", F.when(F.col("rownames") == 5, "Maybe").otherwise(F.col("churn")))
    (problem,) = problems_of(three, telco_spec)
    assert problem.startswith("column 'churn': the label must have exactly two classes, found 3")
    one = rows.withColumn("churn", F.lit("No"))
    assert "found 1" in problems_of(one, telco_spec)[0]


def test_wrong_types_are_counted_per_column(rows, telco_spec):
    bad = rows.withColumn(
        "tenure", F.when(F.col("rownames") <= 4, F.lit("lots")).otherwise(F.col("tenure").cast("string"))
    ).withColumn("partner", F.when(F.col("rownames") == 2, F.lit(7)).otherwise(F.col("partner")))
    assert problems_of(bad, telco_spec) == [
        "column 'tenure': 4 rows are not numeric, e.g. 'lots'",
        "column 'partner': 1 row is not 0 or 1, e.g. '7'",
    ]


def test_missing_ids_and_labels_are_counted(rows, telco_spec):
    holes = rows.withColumn("churn", F.when(F.col("rownames") == 3, F.lit(None)).otherwise(F.col("churn")))
    assert "column 'churn': 1 row has no label" in problems_of(holes, telco_spec)


def test_string_ids_a_user_could_not_type_are_refused(rows, telco_spec):
    odd = rows.withColumn(
        "rownames",
        F.when(F.col("rownames") == 1, F.lit("has space"))
        .when(F.col("rownames") == 2, F.lit("x" * 80))
        .otherwise(F.concat(F.lit("C-"), F.col("rownames").cast("string"))),
    )
    assert problems_of(odd, telco_spec) == [
        "column 'rownames': 2 customer IDs are longer than 64 characters or use characters other than "
        "letters, digits and . - _ : @ / +, e.g. 'has space' (they could not be typed or carried in a URL; "
        "hashing the IDs avoids this)"
    ]
    typed = validate(odd.where(F.col("rownames").startswith("C-")), telco_spec)
    assert dict(typed.dtypes)["customer_id"] == "string"


def test_text_that_was_not_utf8_is_refused_with_the_column(spark, tmp_path):
    """A Latin-1 CSV read as UTF-8 (Spark's default) turns 'café' into 'caf\ufffd'; training refuses it
    rather than publishing a bundle whose categories carry replacement characters."""
    from training.datasets.spec import DatasetSpec, FeatureSpec

    source = tmp_path / "latin1.csv"
    cities = ["caf\xe9", "Z\xfcrich"]
    lines = ["id,city,spend,churned", *(f"{i},{cities[i % 2]},{i},{i % 2}" for i in range(1, 9))]
    source.write_bytes("\n".join(lines).encode("latin-1"))
    table = spark.read.option("header", True).csv(str(source))
    spec = DatasetSpec(
        name="latin1",
        source=str(source),
        id_column="id",
        label_column="churned",
        positive_label="1",
        features=(FeatureSpec("city", "categorical", "City"), FeatureSpec("spend", "numeric", "Spend")),
        load=lambda spark: table,
    )
    (problem,) = problems_of(table, spec)
    assert problem.startswith("column 'city': 8 rows are not UTF-8 text, e.g. ")
    assert "save the file as UTF-8" in problem

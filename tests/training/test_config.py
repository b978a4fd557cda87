"""Config files: every mistake is reported with its key and what was expected (no Spark needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from training.datasets.config import ConfigError, load_config, parse_config

GOOD = {
    "name": "acme",
    "customers": {"path": "customers.csv", "id": "Customer ID", "label": "Churn", "positive": "Yes"},
}


def problems(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, Path("/data"))
    return caught.value.problems


def with_(section: str, **keys) -> dict:
    data: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in GOOD.items()}
    data.setdefault(section, {}).update(keys)
    return data


def test_a_minimal_config_parses_with_defaults():
    config = parse_config(GOOD, Path("/data"))
    assert config.customers is not None
    assert config.customers.path == "/data/customers.csv"
    assert config.customers.format == "csv" and config.customers.delimiter == ","
    assert (config.seed, config.test_fraction, config.models) == (42, 0.2, ("logistic", "gbt", "xgboost", "sklearn"))
    assert config.positive_label == "Yes" and config.max_categories == 50


def test_uris_are_kept_and_integer_positive_labels_become_text():
    config = parse_config(with_("customers", path="s3a://bucket/churn.parquet", positive=1), Path("/data"))
    assert config.customers is not None
    assert config.customers.path == "s3a://bucket/churn.parquet" and config.customers.format == "parquet"
    assert config.positive_label == "1"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"customers": GOOD["customers"]},
            "name: required (a bundle name: up to 64 letters, digits, '-' or '_', starting with a letter or digit)",
        ),
        (
            {**GOOD, "name": "my data"},
            "name: expected a bundle name: up to 64 letters, digits, '-' or '_', "
            "starting with a letter or digit, got 'my data'",
        ),
        ({"name": "acme"}, "customers: required (a table)"),
        (
            with_("customers", path=None) | {"customers": {"label": "Churn", "positive": "Yes"}},
            "customers.path: required (a file path or a URI Spark can read)",
        ),
        (
            with_("customers", path="churn.xlsx"),
            "customers.format: required when the path does not end in .csv or .parquet "
            "(expected one of 'csv', 'parquet')",
        ),
        (with_("customers", format="excel"), "customers.format: expected one of 'csv', 'parquet', got 'excel'"),
        (
            with_("customers", lable="Churn"),
            "customers.lable: unknown key (expected one of path, format, csv, id, label, positive, hash_ids)",
        ),
        (
            {"name": "acme", "customers": {"path": "c.csv", "label": "Churn"}},
            "customers.positive: required with customers.label (the label value meaning 'churned', e.g. \"Yes\" or 1)",
        ),
        (
            {"name": "acme", "customers": {"path": "c.csv"}},
            "customers.label: required (the column saying whether a customer churned), "
            "unless events.churn_after_days derives the label from events",
        ),
        (with_("customers", hash_ids="yes"), "customers.hash_ids: expected true or false, got 'yes'"),
        (with_("customers", csv={"delimiter": ";;"}), "customers.csv.delimiter: expected a single character, got ';;'"),
        (
            with_("customers", csv={"null_values": ["NA", 0]}),
            "customers.csv.null_values: expected a list of strings, got ['NA', 0]",
        ),
        (
            with_("features", max_categories=1),
            "features.max_categories: expected a whole number from 2 to 10000, got 1",
        ),
        (
            with_("features", columns={"Plan type": {"type": "text"}}),
            "features.columns.\"Plan type\".type: expected one of 'numeric', 'binary', 'categorical', got 'text'",
        ),
        (
            with_("features", columns={"Plan": {"labl": "x"}}),
            "features.columns.Plan.labl: unknown key "
            "(expected one of type, label, categories, ignore, actionable, positive, reasons)",
        ),
        (
            with_("features", columns={"Churn": {"label": "x"}}),
            "features.columns.Churn: the label column (customers.label) cannot be a feature",
        ),
        (
            with_("features", columns={"Plan": {"type": "numeric", "positive": "Y"}}),
            "features.columns.Plan.positive: only a binary column has a positive value",
        ),
        (
            with_("models", use=["logistic", "svm"]),
            "models.use: unknown model 'svm' (expected some of logistic, gbt, xgboost, sklearn)",
        ),
        (with_("models", use=[]), "models.use: expected at least one model"),
        (
            with_("models", params={"forest": {"trees": 3}}),
            "models.params.forest: unknown model (expected one of logistic, gbt, xgboost, sklearn)",
        ),
        (
            with_("models", params={"xgboost": {"max_depth": [3]}}),
            "models.params.xgboost: expected a table of parameter = number, string or boolean",
        ),
        (
            with_("training", test_fraction=1.0),
            "training.test_fraction: expected a number between 0 and 1 (exclusive), got 1.0",
        ),
        (with_("training", seed="42"), "training.seed: expected a whole number from 0 to 2147483647, got '42'"),
        (with_("training", seed=True), "training.seed: expected a whole number from 0 to 2147483647, got True"),
        (with_("training", sample=5), "training.sample: expected a whole number of at least 10, got 5"),
        (
            with_("items", path="items.csv", id="item"),
            "items: needs an [events] section (items describe what events refer to)",
        ),
        (
            with_("events", path="events.csv", user="u", item="i"),
            "events.timestamp: required (the name of a column in the events table)",
        ),
        (
            with_("events", path="e.csv", user="u", item="i", timestamp="t", churn_after_days=30),
            "events.churn_after_days: give either customers.label or a behavioural label from events, not both",
        ),
        (
            {
                "name": "acme",
                "customers": {"path": "c.csv", "id": "u"},
                "events": {"path": "e.csv", "user": "u", "item": "i", "timestamp": "t", "churn_after_days": 30},
            },
            "customers: with a behavioural label (events.churn_after_days) the features come from events only; "
            "leave out [customers], or drop churn_after_days and give customers.label",
        ),
        (
            with_("customers", hash_ids=True)
            | {"events": {"path": "e.csv", "user": "u", "item": "i", "timestamp": "t"}},
            "customers.hash_ids: not supported together with [events] yet "
            "(event user IDs would not match the hashed customer IDs)",
        ),
        (
            {
                "name": "acme",
                "events": {"path": "e.csv", "user": "u", "item": "i", "timestamp": "t", "churn_after_days": 0},
            },
            "events.churn_after_days: expected a positive whole number of days, got 0",
        ),
        (
            {**GOOD, "extra": 1},
            "extra: unknown key (expected one of name, customers, features, audit, events, items, models, training)",
        ),
    ],
)
def test_each_mistake_names_its_key_and_what_was_expected(data, expected):
    assert expected in problems(data)


def test_all_mistakes_are_reported_at_once():
    found = problems(
        {
            "name": "acme",
            "customers": {"path": "c.csv", "label": "y", "positive": 1},
            "training": {"seed": -1, "test_fraction": 2},
        }
    )
    assert found == [
        "training.seed: expected a whole number from 0 to 2147483647, got -1",
        "training.test_fraction: expected a number between 0 and 1 (exclusive), got 2",
    ]


def test_file_level_errors(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("name = 'acme'\n[customers\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(broken)
    good = tmp_path / "good.toml"
    good.write_text('name = "acme"\n[customers]\npath = "sub/c.parquet"\nlabel = "churn"\npositive = true\n')
    config = load_config(good)
    assert config.customers is not None
    assert config.customers.path == str(tmp_path / "sub" / "c.parquet") and config.positive_label == "true"


@pytest.mark.parametrize(
    "example", sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.toml")), ids=lambda p: p.name
)
def test_every_example_config_is_valid(example):
    config = load_config(example)
    source = config.customers
    if source is None:  # a behavioural example has no customers table
        assert config.events is not None
        source = config.events["source"]
    assert source.path.startswith(str(example.parent))


def test_a_behavioural_config_needs_no_customers_table():
    config = parse_config(
        {
            "name": "acme",
            "events": {"path": "e.csv", "user": "u", "item": "i", "timestamp": "t", "churn_after_days": 30},
        },
        Path("/data"),
    )
    assert config.events is not None
    assert (
        config.customers is None
        and config.events["source"].path == "/data/e.csv"
        and config.events["churn_after_days"] == 30
    )


def test_the_events_example_checks_its_events_and_items():
    config = load_config(Path(__file__).resolve().parents[2] / "examples" / "with_events.toml")
    assert config.events is not None and config.items is not None
    assert (config.events["user"], config.events["item"], config.events["timestamp"]) == ("user", "movie", "rated_at")
    assert config.items["attributes"] == ("genres",) and config.events["churn_after_days"] == 180
    assert config.customers is None and config.label_column is None


def test_audit_columns_are_read_and_every_mistake_named():
    config = parse_config(with_("audit", columns=["gender", "Senior citizen"]), Path("/data"))
    assert config.audit == ("gender", "Senior citizen")
    assert parse_config(GOOD, Path("/data")).audit == ()
    assert problems(with_("audit", columns="gender", extra=1)) == [
        "audit.extra: unknown key (expected one of columns)",
        "audit.columns: expected a list of strings, got 'gender'",
    ]
    assert problems(with_("audit", columns=["gender", "", "Churn", "gender", "Customer ID"])) == [
        "audit.columns: expected column names, got an empty string",
        "audit.columns: 'Churn' is the customer ID or the label, not something to group by",
        "audit.columns: 'Customer ID' is the customer ID or the label, not something to group by",
        "audit.columns: 'gender' listed more than once",
    ]
    assert problems(with_("audit", columns=[f"c{i}" for i in range(21)])) == [
        "audit.columns: expected at most 20 columns, got 21"
    ]

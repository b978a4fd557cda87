"""The config's `reasons` per column: readable keys, and every mistake named with its column and entry."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.training.test_own_data import awkward_config, awkward_frame
from training.datasets.config import ConfigError, parse_config
from training.datasets.infer import build_spec
from training.datasets.reasons import Reason


@pytest.fixture(scope="module")
def awkward_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("own") / "awkward customers.csv"
    awkward_frame().to_csv(path, index=False)
    return path


BASE = {"name": "acme", "customers": {"path": "c.csv", "label": "Churn", "positive": "Yes"}}


def _with_reasons(column: str, reasons: object, **extra) -> dict:
    return {**BASE, "features": {"columns": {column: {"reasons": reasons, **extra}}}}


def _problems(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, Path("/data"))
    return caught.value.problems


def test_config_reasons_parse_with_readable_keys():
    config = parse_config(
        _with_reasons(
            "tenure",
            [
                {"below": 12, "phrase": "Tenure under 12 months"},
                {"from": 12, "below": 24.5, "phrase": "Tenure 1–2 years", "code": "tenure:1y"},
                {"missing": True, "phrase": "Tenure unknown"},
            ],
        ),
        Path("/data"),
    )
    assert config.columns["tenure"].reasons == (
        Reason("Tenure under 12 months", upper=12.0),
        Reason("Tenure 1–2 years", code="tenure:1y", lower=12.0, upper=24.5),
        Reason("Tenure unknown", missing=True),
    )
    values = parse_config(_with_reasons("Is Senior", [{"values": ["Y", 1, True], "phrase": "Senior"}]), Path("/d"))
    assert values.columns["Is Senior"].reasons[0].values == ("Y", "1", "true")


@pytest.mark.parametrize(
    ("reasons", "extra", "expected"),
    [
        (
            [{"below": 12, "phrase": "a", "colour": "red"}],
            {},
            "features.columns.tenure.reasons[0].colour: unknown key (expected one of phrase, code, from, below, "
            "values, missing)",
        ),
        (
            [{"from": 24, "below": 12, "phrase": "a"}],
            {},
            "features.columns.tenure.reasons[0]: from (24) must be below below (12)",
        ),
        (
            [{"from": 12, "below": 12, "phrase": "a"}],
            {},
            "features.columns.tenure.reasons[0]: from (12) must be below below (12)",
        ),
        (
            [{"values": ["x"], "phrase": "a"}],
            {"type": "numeric"},
            "features.columns.tenure.reasons[0]: values on a numeric column (give a range with from/below)",
        ),
        (
            [{"below": 3, "phrase": "a"}],
            {"type": "categorical"},
            "features.columns.tenure.reasons[0]: from/below on a categorical column (give values)",
        ),
        (
            [{"missing": True, "phrase": "a", "code": "has space"}],
            {},
            "features.columns.tenure.reasons[0]: code 'has space' is not a code "
            "(1 to 64 letters, digits, '_', '.', ':' or '-')",
        ),
        (
            [{"missing": True, "phrase": "a", "code": "x" * 65}],
            {},
            "features.columns.tenure.reasons[0]: code '" + "x" * 65 + "' is not a code "
            "(1 to 64 letters, digits, '_', '.', ':' or '-')",
        ),
        (
            [{"below": 1, "phrase": "a", "code": "t:1"}, {"from": 1, "phrase": "b", "code": "t:1"}],
            {},
            "features.columns.tenure.reasons[1]: code 't:1' is already used by features.columns.tenure.reasons[0]",
        ),
        (
            [{"below": 1}],
            {},
            'features.columns.tenure.reasons[0].phrase: required (the text shown, e.g. "Tenure under 12 months")',
        ),
        (
            [{"below": 1, "phrase": "  "}],
            {},
            'features.columns.tenure.reasons[0].phrase: expected the text shown, e.g. "Tenure under 12 months", '
            "got '  '",
        ),
        (
            [{"phrase": "a"}],
            {},
            "features.columns.tenure.reasons[0]: says nothing to match (give from/below, values or missing = true)",
        ),
        (
            [{"phrase": "a", "below": 3, "missing": True}],
            {},
            "features.columns.tenure.reasons[0]: give one of from/below, values or missing = true, "
            "not a range and missing = true",
        ),
        (
            [{"phrase": "a", "below": math.inf}],
            {},
            "features.columns.tenure.reasons[0]: below must be a finite number, got inf",
        ),
        (
            [{"phrase": "a", "below": "12"}],
            {},
            "features.columns.tenure.reasons[0].below: expected a number, got '12'",
        ),
        (
            [{"phrase": "a", "values": [1.5]}],
            {},
            "features.columns.tenure.reasons[0].values: expected a list of values (text, whole numbers or true/false)",
        ),
        (
            {"below": 12},
            {},
            'features.columns.tenure.reasons: expected a list of tables like {from = 12, below = 24, phrase = "…"}, '
            "got {'below': 12}",
        ),
    ],
)
def test_each_reason_mistake_names_the_column_and_entry(reasons, extra, expected):
    assert expected in _problems(_with_reasons("tenure", reasons, **extra))


def test_every_reason_mistake_is_reported_at_once_with_a_quoted_column_name():
    found = _problems(
        _with_reasons(
            "Plan type",
            [{"below": 1, "phrase": "a", "code": "p"}, {"from": 5, "below": 2, "phrase": "b", "code": "p"}],
        )
    )
    assert found == [
        "features.columns.\"Plan type\".reasons[1]: code 'p' is already used by "
        'features.columns."Plan type".reasons[0]',
        'features.columns."Plan type".reasons[1]: from (5) must be below below (2)',
    ]


def test_config_reasons_that_do_not_fit_the_inferred_type_are_config_errors(spark, awkward_csv):
    data = awkward_config(awkward_csv)
    data["features"]["columns"]["monthly.charges"] = {"reasons": [{"values": ["cheap"], "phrase": "Cheap"}]}
    data["features"]["columns"]["Is Senior"] = {"reasons": [{"values": ["maybe"], "phrase": "?"}]}
    with pytest.raises(ConfigError) as caught:
        build_spec(spark, parse_config(data, awkward_csv.parent))
    assert caught.value.problems == [
        'features.columns."monthly.charges".reasons[0]: values on a numeric column (give a range with from/below)',
        "features.columns.\"Is Senior\".reasons[0]: 'maybe' is not a value of this binary column "
        "(give 1 or 0, true or false, or the column's own yes/no text)",
    ]


def test_the_telco_example_gives_the_built_in_specs_codes():
    from tests.conftest import REPO
    from training.datasets import builtin
    from training.datasets.config import load_config
    from training.datasets.reasons import entries

    config = load_config(REPO / "examples" / "telco.toml")
    spec = {f.name: f for f in builtin("telco").features}
    for name in ("tenure", "contract"):
        assert entries(name, config.columns[name].reasons) == entries(name, spec[name].reasons), name

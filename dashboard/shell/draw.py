"""Drawing an Altair chart: the one place pages hand charts to Streamlit.

`st.altair_chart` calls the chart's `to_dict()`, which validates the whole spec against
Vega-Lite's JSON schema on every rerun: ~100 ms a chart, most of a Customer page's CPU
(three charts) and more on the Validation page (eight). The builders in `charts*.py` are
deterministic code, so their specs are checked where code is checked: the test suite sets
`CHURNLENS_VALIDATE_CHARTS=1` (tests/conftest.py), and every chart any test draws is
validated exactly as before; a server skips it.
"""

from __future__ import annotations

import functools
import os

import altair as alt
import streamlit as st

VALIDATE_ENV = "CHURNLENS_VALIDATE_CHARTS"


def altair_chart(chart: alt.TopLevelMixin, **kwargs) -> None:
    """`st.altair_chart(chart, **kwargs)`, without the schema validation outside tests."""
    if os.environ.get(VALIDATE_ENV) != "1":
        # An instance attribute shadows the method for this one chart object only;
        # Altair's own __setattr__ would store it as a chart property instead.
        object.__setattr__(chart, "to_dict", functools.partial(type(chart).to_dict, chart, validate=False))
    st.altair_chart(chart, **kwargs)

"""What the pages show, computed without Streamlit so it can be tested and timed.

One module per page (`models`, `validation`, ...), one subpackage per page whose data has
several parts (`customer/`, `global_explanations/`), plus `common` helpers every page shares. The names
below are re-exported for the pages and tests that import `dashboard.views`.
"""

from dashboard.views.common import MISSING, display_value, is_missing, ordinal
from dashboard.views.customer.view import (
    DECREASES,
    DEFAULT_TOP_N,
    INCREASES,
    OTHER,
    WATERFALL_COLUMNS,
    CustomerView,
    build_customer_view,
)
from dashboard.views.models import METRIC_COLUMNS, TRAINING_TIME, build_metrics_table, model_display_names

__all__ = [
    "DECREASES",
    "DEFAULT_TOP_N",
    "INCREASES",
    "METRIC_COLUMNS",
    "MISSING",
    "OTHER",
    "TRAINING_TIME",
    "WATERFALL_COLUMNS",
    "CustomerView",
    "build_customer_view",
    "build_metrics_table",
    "display_value",
    "is_missing",
    "model_display_names",
    "ordinal",
]

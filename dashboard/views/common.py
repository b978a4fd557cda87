"""Small helpers every page's view module shares: numbers and values as people read them."""

from __future__ import annotations

import math
from collections.abc import Mapping

MISSING = "missing"


def sigmoid(x: float) -> float:
    # Split by sign so large |x| never overflows exp().
    x = float(x)
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def display_value(feature: Mapping, value: object) -> str:
    """A feature value as a business user reads it: Yes/No, 'missing', 1,234.5."""
    if is_missing(value):
        return MISSING
    kind = feature.get("type")
    if kind == "binary":
        if value in (1, True):
            return "Yes"
        if value in (0, False):
            return "No"
        return str(value)
    if kind == "numeric" and isinstance(value, (int, float)) and not isinstance(value, bool):
        if float(value).is_integer():
            return f"{int(value):,}"
        return f"{value:,.2f}"
    return str(value)


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"

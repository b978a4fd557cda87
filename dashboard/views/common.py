"""Small helpers every page's view module shares: numbers and values as people read them."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from analytics.reasons import reason_for
from bundle import feature_types

MISSING = "missing"


def feature_labels(manifest: Mapping) -> dict[str, str]:
    """{feature name: the label people read}, in manifest order."""
    return {f["name"]: f.get("label") or f["name"] for f in manifest["features"]}


def is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def display_value(feature: Mapping, value: object) -> str:
    """A feature value as a business user reads it: Yes/No, 'missing', 1,234.5, a category's label.

    The bundle's formatter (also used by exports and batch scoring) with the
    dashboard's wider notion of missing (NaN of any float type)."""
    return MISSING if is_missing(value) else feature_types.display_value(dict(feature), value)


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def format_probability(p: float) -> str:
    """The one way a probability is written, in metrics and in sentences alike: "3.7%"."""
    return f"{p:.1%}"


def format_points(delta: float) -> str:
    """A change in probability as signed percentage points: "+12.3 pts"."""
    return f"{delta * 100:+.1f} pts"


def with_article(number_text: str) -> str:
    """ "a 3.7%" / "an 8.0%" / "an 11%" / "an 18.2%": the article follows how the number is spoken."""
    match = re.match(r"\$?([\d,]*)", number_text)  # matches every string (the group may be empty)
    digits = match.group(1).replace(",", "") if match else ""
    spoken_an = digits.startswith("8") or (digits[:2] in ("11", "18") and len(digits) % 3 == 2)
    return f"{'an' if spoken_an else 'a'} {number_text}"


def rank_phrase(percentile: float) -> str:
    """`percentile` = % of customers scored strictly lower. Never "riskier than 100%" or "0%"."""
    riskiest = 100.0 - percentile  # % scored at least as high, this customer included
    if riskiest <= 1.0:
        share = max(math.ceil(riskiest * 10) / 10, 0.1)
        return f"among the riskiest {share:g}% of customers"
    if percentile < 1.0:
        return "among the least risky 1% of customers"
    return f"riskier than {math.floor(percentile):.0f}% of customers"


def reason_text(feature: Mapping, value: object) -> str:
    """The reason code's phrase for one value ("Tenure under 12 months", or "Tenure: 2 months")."""
    return reason_for(feature, value)[1]


def rank_short(percentile: float) -> str:
    """The rank in a few characters, for a metric tile: "Top 0.1%", "Top 30%", "Bottom 14%"."""
    riskiest = 100.0 - percentile  # % scored at least as high, this customer included
    if riskiest <= 1.0:
        return f"Top {max(math.ceil(riskiest * 10) / 10, 0.1):g}%"
    if riskiest <= 50.0:
        return f"Top {math.ceil(riskiest):.0f}%"
    return f"Bottom {min(math.floor(percentile) + 1, 100):.0f}%"

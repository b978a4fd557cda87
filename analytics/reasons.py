"""Reason codes: the short phrase and stable code a feature's value is explained with.

A bundle's manifest lists them per feature (`features[].reasons`, schema 4); the
Customer page, its exports and batch scoring all look values up here, so a CRM can
group customers by the same codes the page shows. The first entry that matches wins;
a value no entry matches reads "<label>: <value>" under the code "<feature name>".
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from bundle import feature_types


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def split_label(label: str) -> tuple[str, str]:
    """ "Tenure (months)" → ("Tenure", "months"); "Contract" → ("Contract", "")."""
    if label.endswith(")") and " (" in label:
        name, unit = label[:-1].rsplit(" (", 1)
        return name, unit
    return label, ""


def value_in_units(feature: Mapping, value: object) -> str:
    """A value with its unit from the label: "2 months", "1 month", "$70.35", "Month-to-month"."""
    shown = "missing" if _missing(value) else feature_types.display_value(dict(feature), value)
    if _missing(value) or feature.get("type") != "numeric":
        return shown
    _, unit = split_label(feature.get("label") or "")
    if not unit:
        return shown
    number = float(value)  # type: ignore[arg-type]  # a numeric feature's value, not missing
    if unit == "$":
        return f"${number:,.2f}"
    if number == 1 and unit.endswith("s"):
        unit = unit[:-1]
    return f"{shown} {unit}"


def fallback_phrase(feature: Mapping, value: object) -> str:
    """ "Tenure: 2 months", "Contract: Month-to-month"."""
    name, _ = split_label(feature.get("label") or feature["name"])
    return f"{name}: {value_in_units(feature, value)}"


def _value_key(feature: Mapping, value: object) -> str:
    if feature.get("type") == "binary" and isinstance(value, (int, float, bool)):
        return str(int(value))
    return str(value)


def matches(reason: Mapping, feature: Mapping, value: object) -> bool:
    if _missing(value):
        return bool(reason.get("missing"))
    if reason.get("missing"):
        return False
    if "values" in reason:
        return _value_key(feature, value) in reason["values"]
    if "lower" in reason or "upper" in reason:
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
        return reason.get("lower", -math.inf) <= number < reason.get("upper", math.inf)
    return True


def reason_for(feature: Mapping, value: object) -> tuple[str, str]:
    """(code, phrase) of one value of one manifest feature entry."""
    for reason in feature.get("reasons") or ():
        if matches(reason, feature, value):
            return str(reason["code"]), str(reason["phrase"])
    return str(feature["name"]), fallback_phrase(feature, value)

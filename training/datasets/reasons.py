"""Reason codes as a dataset gives them, and as training generates them (no Spark here).

A reason is a short phrase for a range or a set of values of one feature ("Tenure
under 12 months", "Month-to-month contract") under a stable code a CRM can group
customers by. The bundle stores them per feature (`features[].reasons`, schema 4) and
`analytics.reasons.reason_for` looks values up in them: the first entry that matches wins.

They come from the dataset spec (`FeatureSpec.reasons`), from the TOML config
(`[features.columns."x"] reasons = [...]`, read by `training.datasets.config_sections`)
or, for a feature with neither, are generated at training (`generated`; the
training-split statistics behind them are computed on Spark by `training.reasons`).
An entry without a code gets one from the feature name and its range or values:
`tenure:lt12`, `tenure:12-24`, `tenure:ge24`, `contract:Month-to-month`, `tenure:missing`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from analytics.reasons import split_label

CODE_PATTERN = r"[A-Za-z0-9_.:-]{1,64}"  # bundle/schema/manifest.v4.json, features[].reasons[].code
SOURCES = ("spec", "config", "generated")  # the manifest's features[].reasons_source
BINARY_VALUES = ("1", "0")


@dataclass(frozen=True)
class Reason:
    """One reason of one feature: exactly one of a range (lower ≤ value < upper, either end open),
    a set of values (categorical: categories; binary: "1"/"0") or missing=True."""

    phrase: str
    code: str | None = None  # None: made from the feature name and the range or values
    lower: float | None = None
    upper: float | None = None
    values: tuple[str, ...] = ()
    missing: bool = False

    @property
    def is_range(self) -> bool:
        return self.lower is not None or self.upper is not None


def shape_problems(reasons: Sequence[Reason], where: str, phrases: bool = True) -> list[str]:
    """Mistakes any feature type would refuse: `where` names the list ("features.columns.tenure.reasons");
    `phrases`: check that each has a phrase (a config reader checks that key itself)."""
    problems = []
    codes: dict[str, int] = {}
    for i, reason in enumerate(reasons):
        at = f"{where}[{i}]"
        if phrases and not reason.phrase.strip():
            problems.append(f"{at}: phrase must not be empty")
        if reason.code is not None:
            if not re.fullmatch(CODE_PATTERN, reason.code):
                problems.append(
                    f"{at}: code {reason.code!r} is not a code (1 to 64 letters, digits, '_', '.', ':' or '-')"
                )
            elif reason.code in codes:
                problems.append(f"{at}: code {reason.code!r} is already used by {where}[{codes[reason.code]}]")
            else:
                codes[reason.code] = i
        kinds = [k for k, present in (("a range", reason.is_range), ("values", bool(reason.values))) if present]
        if reason.missing:
            kinds.append("missing = true")
        if not kinds:
            problems.append(f"{at}: says nothing to match (give from/below, values or missing = true)")
        elif len(kinds) > 1:
            problems.append(f"{at}: give one of from/below, values or missing = true, not {' and '.join(kinds)}")
        for key, bound in (("from", reason.lower), ("below", reason.upper)):
            if bound is not None and not math.isfinite(bound):
                problems.append(f"{at}: {key} must be a finite number, got {bound}")
        if reason.lower is not None and reason.upper is not None and not reason.lower < reason.upper:
            problems.append(f"{at}: from ({_number(reason.lower)}) must be below below ({_number(reason.upper)})")
    return problems


def type_problems(kind: str, reasons: Sequence[Reason], where: str) -> list[str]:
    """Mistakes for a feature of type `kind` (binary values must already read "1"/"0": `binary_values`)."""
    problems = []
    for i, reason in enumerate(reasons):
        at = f"{where}[{i}]"
        if kind == "numeric" and reason.values:
            problems.append(f"{at}: values on a numeric column (give a range with from/below)")
        if kind != "numeric" and reason.is_range:
            problems.append(f"{at}: from/below on a {kind} column (give values)")
        if kind == "binary":
            wrong = [v for v in reason.values if v not in BINARY_VALUES]
            if wrong:
                problems.append(
                    f"{at}: {wrong[0]!r} is not a value of this binary column (give 1 or 0, true or false, "
                    "or the column's own yes/no text)"
                )
    return problems


def binary_values(reasons: Sequence[Reason], positive: str | None, negative: str | None) -> tuple[Reason, ...]:
    """Binary values as the bundle writes them: 1/true/yes or the column's positive text → "1", and so on."""
    ones = {"1", "true", "yes", *([positive] if positive is not None else [])}
    zeros = {"0", "false", "no", *([negative] if negative is not None else [])}

    def one(value: str) -> str:
        if value in ones or value.lower() in ones:
            return "1"
        if value in zeros or value.lower() in zeros:
            return "0"
        return value

    out = []
    for reason in reasons:
        values = tuple(dict.fromkeys(one(v) for v in reason.values))
        out.append(Reason(reason.phrase, reason.code, reason.lower, reason.upper, values, reason.missing))
    return tuple(out)


def entries(name: str, reasons: Iterable[Reason]) -> list[dict]:
    """Manifest entries (`features[].reasons`) with every code filled in and unique."""
    reasons = list(reasons)
    taken = {r.code for r in reasons if r.code is not None}
    out = []
    for reason in reasons:
        code = reason.code if reason.code is not None else _unique(default_code(name, reason), taken)
        taken.add(code)
        entry: dict = {"code": code, "phrase": reason.phrase}
        if reason.lower is not None:
            entry["lower"] = float(reason.lower)
        if reason.upper is not None:
            entry["upper"] = float(reason.upper)
        if reason.values:
            entry["values"] = list(reason.values)
        if reason.missing:
            entry["missing"] = True
        out.append(entry)
    return out


def default_code(name: str, reason: Reason) -> str:
    if reason.missing:
        part = "missing"
    elif reason.values:
        part = ".".join({"1": "yes", "0": "no"}.get(v, v) if _is_binary(reason) else v for v in reason.values)
    elif reason.lower is None:
        part = f"lt{_number(reason.upper)}"
    elif reason.upper is None:
        part = f"ge{_number(reason.lower)}"
    else:
        part = f"{_number(reason.lower)}-{_number(reason.upper)}"
    return _sanitised(f"{name}:{part}")


def _is_binary(reason: Reason) -> bool:
    return bool(reason.values) and set(reason.values) <= set(BINARY_VALUES)


def _sanitised(code: str) -> str:
    code = re.sub(r"[^A-Za-z0-9_.:-]+", "_", code).strip("_") or "reason"
    return code[:64]


def _unique(code: str, taken: set[str]) -> str:
    if code not in taken:
        return code
    n = 2
    while f"{code[:60]}.{n}" in taken:
        n += 1
    return f"{code[:60]}.{n}"


# --- generated reasons ---------------------------------------------------------------------------


def readable_edges(quantiles: Sequence[float]) -> list[float]:
    """Quantile edges rounded to two significant digits, or finer where the smallest gap between
    them needs it (never to a step above that gap's order of magnitude); deduplicated and sorted.

    Telco's tenure quartiles 9, 29, 55 stay as they are; monthly charges 35.5, 70.35, 89.85
    become 36, 70, 90; total charges 401.45, 1397.5, 3794.7 become 400, 1,400, 3,800."""
    finite = sorted({float(q) for q in quantiles if q is not None and math.isfinite(q)})
    gaps = [b - a for a, b in zip(finite, finite[1:], strict=False)]
    finest = 10.0 ** math.floor(math.log10(min(gaps))) if gaps else math.inf
    rounded = set()
    for q in finite:
        if q == 0:
            rounded.add(0.0)
            continue
        step = min(10.0 ** (math.floor(math.log10(abs(q))) - 1), finest)
        digits = max(0, -math.floor(math.log10(step)))
        rounded.add(round(round(q / step) * step, digits))  # 0.30000000000000004 → 0.3
    return sorted(rounded)


def range_phrase(label: str, lower: float | None, upper: float | None) -> str:
    """ "Tenure under 9 months", "Tenure 9 to 29 months", "Tenure 29 months or more"; "$" units as "$70.35"."""
    name, unit = split_label(label)
    if lower is None and upper is not None:
        return f"{name} under {_amount(upper, unit)}"
    if upper is None and lower is not None:
        return f"{name} {_amount(lower, unit)} or more"
    if lower is not None and upper is not None:
        if unit in ("$", "%", ""):
            return f"{name} {_amount(lower, unit)} to {_amount(upper, unit)}"
        return f"{name} {_number_text(lower)} to {_amount(upper, unit)}"
    return name


def generated(feature: dict, edges: Sequence[float], can_be_missing: bool) -> list[Reason]:
    """Reasons for a manifest feature entry without given ones: numeric → one per range between
    `edges` (training-split quantiles, already readable and with no empty range); categorical →
    one per category; binary → Yes and No; plus "<name> missing" when the feature can be missing."""
    label = feature.get("label") or feature["name"]
    name, _ = split_label(label)
    kind = feature["type"]
    reasons: list[Reason] = []
    if kind == "numeric":
        bounds: list[float | None] = [None, *edges, None]
        for lower, upper in zip(bounds, bounds[1:], strict=False):
            if lower is None and upper is None:
                continue  # no edges: a single range says nothing
            reasons.append(Reason(range_phrase(label, lower, upper), lower=lower, upper=upper))
    elif kind == "binary":
        reasons += [Reason(f"{name}: Yes", values=("1",)), Reason(f"{name}: No", values=("0",))]
    else:
        shown = feature.get("category_labels") or {}
        for category in feature.get("categories") or []:
            reasons.append(Reason(f"{name}: {shown.get(category, category)}", values=(category,)))
    if can_be_missing:
        reasons.append(Reason(f"{name} missing", missing=True))
    return reasons


def _number(value: float | None) -> str:
    """A number in a code: 12, 70.35, -3, 1000000."""
    if value is None:
        return ""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = f"{value:.10g}"
    return text if "e" not in text else f"{value:f}".rstrip("0").rstrip(".")


def _number_text(value: float) -> str:
    """A number in a phrase: 1,400, 70.35, 0.125."""
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    text = f"{value:,.6f}".rstrip("0").rstrip(".")
    return text if text not in ("0", "-0") else f"{value:g}"


def _amount(value: float, unit: str) -> str:
    if unit == "$":
        number = f"{abs(value):,.0f}" if float(value).is_integer() else f"{abs(value):,.2f}"
        return f"{'-' if value < 0 else ''}${number}"
    if unit == "%":
        return f"{_number_text(value)}%"
    if not unit:
        return _number_text(value)
    if value == 1 and unit.endswith("s"):
        unit = unit[:-1]
    return f"{_number_text(value)} {unit}"

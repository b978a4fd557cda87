"""Cohorts: a segment of customers defined by feature conditions, written in a small strict grammar
(shared by the dashboard's cohort filter and training's error analysis, which writes its cohorts in it).

    cohort     := condition (";" condition)*          at most MAX_CONDITIONS conditions
    condition  := feature op value
    op         := ":"  (equals; categorical / binary / numeric)
                | "!=" (not equal)
                | "<" | "<=" | ">" | ">="   (numeric features only)
    feature    := a feature name of the bundle (e.g. contract, tenure)
    value      := category text (matched case-insensitively to the bundle's categories),
                  Yes/No for binary features, a number for numeric ones

Example: ``contract:Month-to-month;tenure<12``. Conditions are combined with AND.
Everything about a cohort string is user data: error messages quote it only
through `dashboard.shell.plain.inert` on the page.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

MAX_LENGTH = 400
MAX_CONDITIONS = 8
OPERATORS = ("<=", ">=", "!=", "<", ">", ":")
_CONDITION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|!=|<|>|:)\s*(.+?)\s*$")
_BINARY = {"yes": 1, "true": 1, "1": 1, "no": 0, "false": 0, "0": 0}


class CohortError(ValueError):
    """A cohort string that cannot be used; the message is for the user."""


@dataclass(frozen=True)
class Condition:
    feature: str
    op: str
    value: object  # str for categorical, int 0/1 for binary, float for numeric

    def text(self) -> str:
        shown = {1: "Yes", 0: "No"}.get(self.value, self.value) if isinstance(self.value, int) else self.value
        if isinstance(shown, float) and shown.is_integer():
            shown = int(shown)
        return f"{self.feature}{self.op}{shown}"


def parse_cohort(text: str | None, features: Sequence[Mapping]) -> list[Condition]:
    """Conditions from a cohort string ('' or None: everybody), or `CohortError` saying what is wrong."""
    if text is None or not str(text).strip():
        return []
    text = str(text)
    if len(text) > MAX_LENGTH:
        raise CohortError(f"A cohort has at most {MAX_LENGTH} characters.")
    parts = [p for p in text.split(";")]
    if len(parts) > MAX_CONDITIONS:
        raise CohortError(f"A cohort has at most {MAX_CONDITIONS} conditions.")
    by_name = {f["name"]: f for f in features}
    by_lower = {name.lower(): name for name in by_name}
    conditions = []
    for part in parts:
        match = _CONDITION.match(part)
        if not match:
            raise CohortError(
                f"'{part.strip()[:60]}' is not a condition: write feature:value or feature<number, "
                "joined by ';' (e.g. contract:Month-to-month;tenure<12)."
            )
        name, op, raw = match.groups()
        if name.lower() not in by_lower:
            raise CohortError(f"There is no feature '{name}'. Features: {', '.join(by_name)}.")
        feature = by_name[by_lower[name.lower()]]
        conditions.append(_condition(feature, op, raw))
    return conditions


def _condition(feature: Mapping, op: str, raw: str) -> Condition:
    name, kind = feature["name"], feature["type"]
    if kind == "numeric":
        try:
            value = float(raw)
        except ValueError:
            raise CohortError(f"'{raw[:40]}' is not a number ({name} is numeric).") from None
        if not math.isfinite(value):
            raise CohortError(f"'{raw[:40]}' is not a usable number.")
        return Condition(name, "=" if op == ":" else op, value)
    if op not in (":", "!="):
        raise CohortError(f"{name} is not numeric: use {name}:value or {name}!=value.")
    if kind == "binary":
        if raw.lower() not in _BINARY:
            raise CohortError(f"{name} is Yes or No, not '{raw[:40]}'.")
        return Condition(name, op, _BINARY[raw.lower()])
    categories = [str(c) for c in feature.get("categories") or []]
    matches = [c for c in categories if c.lower() == raw.lower()]
    if not matches:
        raise CohortError(f"{name} has no category '{raw[:40]}'. Categories: {', '.join(categories)}.")
    return Condition(name, op, matches[0])


def cohort_text(conditions: list[Condition]) -> str:
    """The canonical string for a URL (round-trips through `parse_cohort`)."""
    return ";".join(c.text().replace("=", ":", 1) if c.op == "=" else c.text() for c in conditions)


def cohort_mask(frame: pd.DataFrame, conditions: list[Condition]) -> np.ndarray:
    """Boolean mask of the rows of `frame` (raw feature columns) in the cohort. Missing values never match."""
    mask = np.ones(len(frame), dtype=bool)
    for c in conditions:
        column = frame[c.feature]
        if isinstance(c.value, str):
            values = column.astype("string")
            hit = (values == c.value) if c.op == ":" else (values != c.value)
            mask &= hit.fillna(False).to_numpy(dtype=bool)
            continue
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore"):
            hit = {
                ":": values == c.value,
                "=": values == c.value,
                "!=": values != c.value,
                "<": values < c.value,
                "<=": values <= c.value,
                ">": values > c.value,
                ">=": values >= c.value,
            }[c.op]
        mask &= hit & ~np.isnan(values)
    return mask

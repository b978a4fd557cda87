"""What a column is, decided once from its summary statistics (no Spark, no pyarrow here).

Two readers gather the same `ColumnStats`: Spark for a training run and for
`init-config` on a cluster URI (`training/datasets/infer.py`), pyarrow for
`init-config` on a local file (`training/datasets/local_table.py`). Both hand
them to `decide`, so a starter config and the run that reads it apply one rule.

Rules (each decision is reported, and any can be overridden per column):
- all values empty → left out; one distinct value → left out (constant);
- numbers (or text that is always a number) → numeric; exactly 0/1 → binary;
- true/false → binary; two values that read as yes/no (Y/N, yes/no, true/false, t/f, 1/0) → binary;
- other text → categorical, unless nearly every row differs (ID-like: left out)
  or it has more levels than features.max_categories (left out, with the count);
- whole-number columns named like an identifier (id, key, index, rownames …) whose values all differ → left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Text IDs that are plain whole numbers (at most 18 digits: they fit a long).
INTEGER_ID = r"^-?(0|[1-9][0-9]{0,17})$"
TRUE_WORDS = ("1", "y", "yes", "true", "t")
FALSE_WORDS = ("0", "n", "no", "false", "f")
YES_NO = {frozenset(pair) for pair in zip(TRUE_WORDS, FALSE_WORDS, strict=True)}
ID_NAME = re.compile(r"(?i:(^|[^a-z])(id|ids|key|index|idx|uuid|guid|rownames|row_?number)([^a-z]|$))|[a-z](ID|Id)$")

# The text Spark's `try_cast(… AS DOUBLE)` reads as a number (training.feature_types.as_double, the
# run's own check): Java's Double.parseDouble after trimming characters up to U+0020 (an optional
# type suffix f/d, hex floats, NaN, Infinity), or Spark's special literals inf/infinity/nan in any
# case. The local reader uses it to count numbers the way the run will;
# tests/training/test_local_inference.py checks it against Spark on awkward strings.
_TRIM = r"[\x00-\x20]*"
_DECIMAL = r"([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
_HEX = r"0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+"
NUMBER_PATTERN = (
    rf"^{_TRIM}[+-]?(NaN|Infinity|({_DECIMAL}|{_HEX})[fFdD]?){_TRIM}$"
    rf"|^{_TRIM}(?i:[+-]?inf|\+?infinity|-infinity|nan){_TRIM}$"
)

# Column kinds both readers report: these four, or the type's name (date, timestamp, binary, …).
BOOLEAN, INTEGRAL, FRACTIONAL, STRING = "boolean", "integral", "fractional", "string"


@dataclass(frozen=True)
class ColumnStats:
    """One column's summary: `low`/`high` are numbers for number kinds, text otherwise."""

    kind: str
    present: int  # non-empty values
    distinct: int  # distinct non-empty values (approximate on Spark: HyperLogLog, 2% error)
    low: object
    high: object
    numbers: int | None = None  # text columns: how many values read as a number (NUMBER_PATTERN)


@dataclass(frozen=True)
class Decision:
    column: str
    type: str | None  # None: left out
    reason: str  # why (shown by init-config and in the run's log)
    positive: str | None = None
    negative: str | None = None


def decide(name: str, stats: ColumnStats, cap: int) -> Decision:
    """The decision for column `name`; `cap` is features.max_categories."""
    present, distinct, low, high = stats.present, stats.distinct, stats.low, stats.high
    if present == 0:
        return Decision(name, None, "left out: every value is empty")
    if low == high:
        return Decision(name, None, f"left out: constant (every value is {str(low)!r})")
    all_distinct = distinct >= 0.98 * present and present >= 20
    if stats.kind == BOOLEAN:
        return Decision(name, "binary", "true/false", positive="true", negative="false")
    is_number = stats.kind in (INTEGRAL, FRACTIONAL)
    if is_number or (stats.kind == STRING and stats.numbers == present):
        integral = stats.kind == INTEGRAL or (
            stats.kind == STRING and re.fullmatch(INTEGER_ID, str(low)) and re.fullmatch(INTEGER_ID, str(high))
        )
        if integral and all_distinct and ID_NAME.search(name):
            return Decision(
                name, None, "left out: looks like an identifier (whole numbers, all different, named like an ID)"
            )
        if distinct == 2 and {float(low), float(high)} == {0.0, 1.0}:  # type: ignore[arg-type]
            return Decision(name, "binary", "only 0 and 1")
        return Decision(name, "numeric", "numbers" if is_number else "text that is always a number")
    if stats.kind == STRING:
        return _text(name, str(low), str(high), distinct, all_distinct, cap)
    return Decision(name, None, f"left out: unsupported column type {stats.kind}")


def _text(name: str, low: str, high: str, distinct: int, all_distinct: bool, cap: int) -> Decision:
    if distinct == 2 and frozenset((low.strip().lower(), high.strip().lower())) in YES_NO:
        positive = low if low.strip().lower() in TRUE_WORDS else high
        negative = high if positive == low else low
        return Decision(name, "binary", f"two values, {positive!r} = yes", positive=positive, negative=negative)
    if all_distinct:
        return Decision(name, None, "left out: looks like an identifier (nearly every row differs)")
    if distinct > cap:
        return Decision(name, None, f"left out: about {distinct} categories, more than features.max_categories = {cap}")
    return Decision(name, "categorical", f"text, about {distinct} categories")

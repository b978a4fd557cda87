"""Short, single-line renderings of user data for error messages.

A binary file read as CSV has column names and cells tens of thousands of characters
long; a problem line quotes at most `VALUE_CHARS` of any value and is cut at
`LINE_CHARS` as a whole, so a refusal stays readable in a terminal or a log.
"""

from __future__ import annotations

VALUE_CHARS = 40
LINE_CHARS = 400


def shown(value: object, limit: int = VALUE_CHARS) -> str:
    """`value` quoted as Python would, cut to `limit` characters (with an ellipsis)."""
    text = str(value)
    return repr(text if len(text) <= limit else text[:limit] + "…")


def one_line(problem: str, limit: int = LINE_CHARS) -> str:
    """A problem as one line of at most `limit` characters (the cut is marked)."""
    flat = " ".join(problem.split("\n"))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"

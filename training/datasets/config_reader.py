"""A small typed reader for parsed TOML that collects every problem instead of stopping at the first."""

from __future__ import annotations

import re
from typing import Any


class Reader:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def table(self, data: dict, where: str, allowed: tuple[str, ...]) -> dict:
        for key in data:
            if key not in allowed:
                self.problems.append(f"{join(where, key)}: unknown key (expected one of {', '.join(allowed)})")
        return data

    def get(
        self,
        data: dict,
        where: str,
        key: str,
        kind: str,
        *,
        required: bool = False,
        default: Any = None,
        choices: tuple | None = None,
        check=None,
        expected: str | None = None,
    ) -> Any:
        name = join(where, key)
        if key not in data:
            if required:
                self.problems.append(f"{name}: required ({expected or _KINDS[kind][1]})")
            return default
        value = data[key]
        python_type, wording = _KINDS[kind]
        ok = isinstance(value, python_type) and not (isinstance(value, bool) and python_type in ((int,), (int, float)))
        if kind == "list[str]":
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        if ok and choices is not None and value not in choices:
            ok, wording = False, "one of " + ", ".join(repr(c) for c in choices)
        if ok and check is not None and not check(value):
            ok, wording = False, expected or wording
        if not ok:
            self.problems.append(f"{name}: expected {expected or wording}, got {shown(value)}")
            return default
        return value


_KINDS = {
    "str": ((str,), "a string"),
    "bool": ((bool,), "true or false"),
    "int": ((int,), "a whole number"),
    "number": ((int, float), "a number"),
    "table": ((dict,), "a table"),
    "list[str]": ((list,), "a list of strings"),
    "list": ((list,), "a list"),
    "scalar": ((str, int, float, bool), "a string, number or boolean"),
}


def join(where: str, key: str) -> str:
    quoted = key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else '"' + key.replace('"', '\\"') + '"'
    return f"{where}.{quoted}" if where else quoted


def shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "…"


def text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

"""The code stays readable: no function over 60 lines, no module over 400 (the brief's ~60/~400).

Counted from the `def` line to the function's last line, blank lines and docstrings included,
in every package of ours and in the tests.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGES = ("training", "runtime", "analytics", "bundle", "store", "dashboard", "bench", "tests")
MAX_FUNCTION_LINES = 60
MAX_FILE_LINES = 400


def sources() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (REPO / package).rglob("*.py"))


def shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else path.name


def long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        f"{shown(path)}:{node.lineno} {node.name} ({lines} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (lines := (node.end_lineno or node.lineno) - node.lineno + 1) > MAX_FUNCTION_LINES
    ]


def test_no_function_over_60_lines():
    assert [line for path in sources() for line in long_functions(path)] == []


def test_no_module_over_400_lines():
    sizes = {str(path.relative_to(REPO)): path.read_text().count("\n") for path in sources()}
    assert {path: n for path, n in sizes.items() if n > MAX_FILE_LINES} == {}


def test_the_measure_sees_a_long_function(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n" + "    x = 1\n" * 70 + "\n\ndef g():\n    return 1\n")
    assert [line.split()[1] for line in long_functions(sample)] == ["f"]

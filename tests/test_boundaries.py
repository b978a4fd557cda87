"""One-way data flow, enforced: which package may import which."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

FORBIDDEN = {
    "dashboard": {"pyspark", "py4j", "training", "pickle", "joblib", "cloudpickle", "dill"},
    "bundle": {"pyspark", "py4j", "training", "dashboard", "streamlit", "pickle", "joblib", "cloudpickle", "dill"},
    "training": {"dashboard", "streamlit", "pickle", "joblib", "dill"},
}


def imported_roots(source: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module" and node.args:
            if isinstance(node.args[0], ast.Constant):
                roots.add(str(node.args[0].value).split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_stay_on_their_side(package):
    sources = sorted((REPO / package).rglob("*.py"))
    assert sources, f"no sources found for {package}"
    offenders = {
        str(path.relative_to(REPO)): sorted(imported_roots(path) & FORBIDDEN[package]) for path in sources
    }
    assert {path: bad for path, bad in offenders.items() if bad} == {}


def test_the_scan_sees_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import pyspark.sql\nfrom training import x\nimport importlib\nimportlib.import_module('pickle')\n")
    assert {"pyspark", "training", "pickle"} <= imported_roots(sample)

"""One-way data flow, enforced: which package may import which, and no import circles.

raw tables → training → (runtime, analytics) → bundle → store → dashboard. `runtime` runs models
and knows nothing of bundles; `bundle` is the contract (it runs the runtime only to check parity);
`store` serves bundles to the dashboard; `bench` may use anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

OURS = {"training", "runtime", "analytics", "bundle", "store", "dashboard", "bench"}
ALLOWED = {  # our packages each package may import (besides itself)
    "runtime": set(),
    "analytics": {"bundle"},
    "bundle": {"runtime"},
    "store": {"bundle", "runtime", "analytics"},
    "training": {"runtime", "analytics", "bundle", "store"},
    "dashboard": {"runtime", "analytics", "bundle", "store"},
}
UNSAFE = {"pickle", "joblib", "cloudpickle", "dill"}
FORBIDDEN_OUTSIDE = {  # third-party roots a package must never import
    "runtime": {"pyspark", "py4j", "streamlit"} | UNSAFE,
    "analytics": {"pyspark", "py4j", "streamlit"} | UNSAFE,
    "bundle": {"pyspark", "py4j", "streamlit"} | UNSAFE,
    "store": {"pyspark", "py4j", "streamlit"} | UNSAFE,
    "dashboard": {"pyspark", "py4j"} | UNSAFE,
    "training": {"streamlit"} | UNSAFE - {"cloudpickle"},
}


def imported_modules(source: Path) -> set[str]:
    """Every absolute module name `source` imports, function-local imports included."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module" and node.args:
            if isinstance(node.args[0], ast.Constant):
                names.add(str(node.args[0].value))
    return names


def imported_roots(source: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(source)}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def our_modules() -> dict[str, Path]:
    return {module_name(path): path for package in sorted(OURS) for path in (REPO / package).rglob("*.py")}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_stay_on_their_side(package):
    sources = sorted((REPO / package).rglob("*.py"))
    assert sources, f"no sources found for {package}"
    bad_ours = OURS - ALLOWED[package] - {package}
    offenders = {
        str(path.relative_to(REPO)): sorted(imported_roots(path) & (bad_ours | FORBIDDEN_OUTSIDE[package]))
        for path in sources
    }
    assert {path: bad for path, bad in offenders.items() if bad} == {}


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module → the modules of ours it imports (`from a import b` counts b when b is a module)."""
    return {name: {m for m in imported_modules(path) if m in modules and m != name} for name, path in modules.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_no_import_circles():
    assert circles(import_graph(our_modules())) == []


def test_circle_finder_finds_circles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e2"}, "e2": set()}
    assert circles(graph) == [["a", "b", "c"]]


def test_the_scan_sees_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import pyspark.sql\nfrom training import x\nimport importlib\nimportlib.import_module('pickle')\n"
        "def f():\n    from bundle.reader import open_bundle\n"
    )
    assert {"pyspark", "training", "pickle", "bundle"} <= imported_roots(sample)
    assert "bundle.reader.open_bundle" in imported_modules(sample)

"""The dashboard's folders say what is where, enforced.

app_pages/ draw (Streamlit), views/ compute page data (no Streamlit), charts/ build Altair (no
Streamlit), shell/ is the app's plumbing (sign-in, cached bundle access, drawing helpers).
Data flows views → charts → pages, never back; and every function and file stays small.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.test_boundaries import imported_modules

DASHBOARD = REPO / "dashboard"
FAMILIES = ("app_pages", "views", "charts", "shell")
# Dashboard families each family may import (besides itself).
MAY_IMPORT = {
    "views": set(),
    "charts": {"views"},
    "shell": {"views"},
    "app_pages": {"views", "charts", "shell"},
}
MAX_FUNCTION_LINES, MAX_FILE_LINES = 60, 400


def family_sources(family: str) -> list[Path]:
    return sorted((DASHBOARD / family).rglob("*.py"))


def dashboard_families(source: Path) -> set[str]:
    """The dashboard families (pages, views, ...) `source` imports from, function-local imports included."""
    found = set()
    for name in imported_modules(source):
        parts = name.split(".")
        if parts[0] == "dashboard" and len(parts) > 1 and parts[1] in FAMILIES:
            found.add(parts[1])
    return found


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_imports_only_what_it_may(family):
    sources = family_sources(family)
    assert len(sources) > 1, f"no modules found in dashboard/{family}"
    offenders = {
        str(p.relative_to(REPO)): sorted(dashboard_families(p) - MAY_IMPORT[family] - {family}) for p in sources
    }
    assert {path: bad for path, bad in offenders.items() if bad} == {}


@pytest.mark.parametrize("family", ["views", "charts"])
def test_views_and_charts_never_import_streamlit(family):
    offenders = [
        str(p.relative_to(REPO))
        for p in family_sources(family)
        if any(name.split(".")[0] == "streamlit" for name in imported_modules(p))
    ]
    assert offenders == []


def test_every_dashboard_module_lives_in_a_family():
    loose = sorted(p.name for p in DASHBOARD.glob("*.py"))
    # The router is the only page-level script outside app_pages/; serve.py is the shared-URL entry
    # point around it (st.App with the HTTP sign-in gate), no page of its own.
    assert loose == ["__init__.py", "app.py", "serve.py"]


def test_no_pages_folder_beside_the_entry_script():
    # Streamlit treats a pages/ folder beside the entry script as its old folder-based multipage
    # app (streamlit.runtime.pages_manager): on a session's first run it may then execute a page
    # script without dashboard/app.py, which sets up the bundle every page reads.
    assert not (DASHBOARD / "pages").exists()


def test_functions_and_files_stay_small():
    too_long = []
    for source in sorted(DASHBOARD.rglob("*.py")):
        text = source.read_text()
        where = str(source.relative_to(REPO))
        if len(text.splitlines()) > MAX_FILE_LINES:
            too_long.append(f"{where}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > MAX_FUNCTION_LINES:
                    too_long.append(f"{where}: {node.name} is {size} lines")
    assert too_long == []

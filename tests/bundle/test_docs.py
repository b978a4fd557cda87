"""The manifest section of artifacts/README.md is the schema's: generated, and checked here."""

from __future__ import annotations

import copy
import shutil

from bundle import docs
from bundle.manifest import schema


def _block(text: str) -> str:
    start = text.index("<!-- BEGIN manifest")
    return text[start : text.index(docs.END, start) + len(docs.END)]


def test_the_readme_manifest_section_is_generated_from_the_current_schema():
    # On failure: run `python -m bundle.docs` and commit artifacts/README.md.
    assert _block(docs.README.read_text(encoding="utf-8")) == docs.render()


def test_every_key_of_the_schema_is_documented_with_its_meaning():
    rendered = docs.render()
    for path in (
        "schema_version",
        "dataset.id_type",
        "encoding[].fill",
        "models.<model>.parity.max_abs_margin",
        "models.<model>.runtime.files.<file name>",
        "files.<path>.sha256",
        "items.params.history_items",
    ):
        assert f"| `{path}` |" in rendered
    assert "| `models.<model>.parity.rows` | integer ≥ 0 | yes | How many customers were compared. |" in rendered


def test_a_schema_change_makes_the_readme_stale(monkeypatch):
    changed = copy.deepcopy(schema())
    changed["properties"]["run_id"]["description"] = "Something else."
    monkeypatch.setattr(docs, "schema", lambda version=3: changed)
    assert not docs.is_current()
    assert "| `run_id` | string | yes | Something else. |" in docs.render()


def test_the_command_checks_and_rewrites_the_block(tmp_path, capsys):
    readme = tmp_path / "README.md"
    shutil.copy(docs.README, readme)
    text = readme.read_text(encoding="utf-8")
    readme.write_text(text.replace("Unique per training run", "Unique per run"), encoding="utf-8")
    assert docs.main(["--check", "--readme", str(readme)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert docs.main(["--readme", str(readme)]) == 0
    assert readme.read_text(encoding="utf-8") == text
    assert docs.main(["--check", "--readme", str(readme)]) == 0
    readme.write_text("no markers here", encoding="utf-8")
    assert docs.main(["--check", "--readme", str(readme)]) == 2

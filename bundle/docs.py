"""The manifest section of `artifacts/README.md`, generated from the manifest's JSON Schema.

`python -m bundle.docs` rewrites the marked block in the README; `python -m bundle.docs
--check` exits 1 when the block differs from what the schema gives (a test runs it), so
the README can't drift from the schema the reader validates with.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bundle import layout
from bundle.manifest import schema

README = Path(__file__).resolve().parents[1] / "artifacts" / "README.md"
BEGIN = "<!-- BEGIN manifest: generated from bundle/schema/manifest.v{version}.json by `python -m bundle.docs` -->"
END = "<!-- END manifest -->"


def _kind(node: dict[str, Any]) -> str:
    """A node's type as a reader wants it: `number 0–1`, `"numeric" | "onehot"`, `integer ≥ 0`."""
    if "const" in node:
        return f"`{node['const']!r}`".replace("'", '"')
    if "enum" in node:
        return " \\| ".join(f'`"{value}"`' for value in node["enum"])
    if "anyOf" in node:
        return " or ".join(_kind(option) for option in node["anyOf"])
    kinds = node.get("type", "any")
    text = " or ".join(kinds) if isinstance(kinds, list) else str(kinds)
    if node.get("format") == "finite":
        text = f"finite {text}"
    if "minimum" in node and "maximum" in node:
        return f"{text} {node['minimum']}–{node['maximum']}"
    if "minimum" in node:
        return f"{text} ≥ {node['minimum']}"
    if node.get("minItems") or node.get("minProperties"):
        return f"{text}, not empty"
    return text


def _rows(node: dict[str, Any], path: str, required: bool) -> Iterator[tuple[str, str, bool, str]]:
    """(key path, type, required, description) of `node` and everything under it, depth first."""
    if path:
        yield path, _kind(node), required, node.get("description", "")
    needed = set(node.get("required", ()))
    for key, child in node.get("properties", {}).items():
        yield from _rows(child, f"{path}.{key}" if path else key, key in needed)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        yield from _rows(extra, f"{path}.<{node.get('x-key', 'key')}>", False)
    items = node.get("items")
    if isinstance(items, dict):
        yield from _rows(items, f"{path}[]", False)


def render(version: int = layout.SCHEMA_VERSION) -> str:
    """The README block for schema `version`, markers included."""
    definition = schema(version)
    lines = [
        BEGIN.format(version=version),
        "",
        definition["description"],
        "",
        "| key | type | required | meaning |",
        "|---|---|---|---|",
    ]
    for path, kind, required, description in _rows(definition, "", True):
        lines.append(f"| `{path}` | {kind} | {'yes' if required else ''} | {description.replace('|', '\\|')} |")
    return "\n".join([*lines, "", END])


def _current_block(text: str) -> tuple[int, int]:
    start = text.index("<!-- BEGIN manifest")
    return start, text.index(END, start) + len(END)


def is_current(readme: Path = README) -> bool:
    text = readme.read_text(encoding="utf-8")
    start, end = _current_block(text)
    return text[start:end] == render()


def write(readme: Path = README) -> None:
    text = readme.read_text(encoding="utf-8")
    start, end = _current_block(text)
    readme.write_text(text[:start] + render() + text[end:], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bundle.docs", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the README's block is out of date")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    try:
        current = is_current(args.readme)
    except (OSError, ValueError) as exc:  # ValueError: the markers are missing
        print(f"Can't use {args.readme}: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if not current:
            print(f"{args.readme}: the manifest section is out of date; run `python -m bundle.docs`.", file=sys.stderr)
        return 0 if current else 1
    if not current:
        write(args.readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Every widget every page creates, walked on a bundle whose data is the payloads of issue 21.

Streamlit renders Markdown in widget labels, help texts, button labels, captions and Markdown
elements; select-box options are plain text (Streamlit 1.67, checked in Chromium). So wherever a
rendered string carries data, it must parse to no link, image, HTML, emphasis or icon, and its
plain text must be the raw value; wherever an option carries data, it must be the raw value
itself (no escaping to show as backslashes). The Chromium side: tests/e2e/test_hostile_browser.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from dashboard.app_pages.customer_sections import TABS
from dashboard.shell import data
from tests.dashboard.dashboard_helpers import open_app
from tests.dashboard.hostile_bundle import IDS, PAYLOADS, TRACES, write_hostile_bundle
from tests.dashboard.test_hostile import links_and_images

TIMEOUT = 60
MARKDOWN_FIELDS = ("label", "help", "body", "caption")
OPTION_FIELDS = ("options", "default_options")  # and placeholders: an <input>'s attribute, plain text too
_PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])
# markdown-it drops javascript: links as unsafe; Streamlit's renderer still draws an <a> for them.
_PARSER.validateLink = lambda url: True  # type: ignore[method-assign]
LIVE = {"link_open", "image", "html_inline", "html_block", "strong_open", "em_open", "s_open"}
# Streamlit's own syntax on top of Markdown: icons, coloured text, emoji shortcodes (unescaped colons).
STREAMLIT_SYNTAX = re.compile(r"(?<!\\):(material/[a-z_]+|red|blue|green|orange|violet|gray|rainbow)[:\[]")


@pytest.fixture(scope="module")
def hostile_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("walk") / "artifacts"
    write_hostile_bundle(root)
    return root


def _nodes(node) -> Iterator:
    yield node
    children = getattr(node, "children", None)
    for child in children.values() if isinstance(children, dict) else []:
        yield from _nodes(child)


def _strings(at: AppTest) -> Iterator[tuple[str, str, str]]:
    """(element type, field, text) of every Markdown-rendered or option string the run drew."""
    for node in _nodes(at._tree):
        proto = getattr(node, "proto", None)
        if proto is None:
            continue
        kind = type(node).__name__
        for field in MARKDOWN_FIELDS:
            value = getattr(proto, field, None)
            if isinstance(value, str) and value:
                yield kind, field, value
        for field in OPTION_FIELDS:
            for option in getattr(proto, field, None) or []:
                yield kind, "option", str(option)
        placeholder = getattr(proto, "placeholder", None)
        if isinstance(placeholder, str) and placeholder:
            yield kind, "option", placeholder


def _plain(markdown: str) -> str:
    """The text a Markdown renderer shows for `markdown` (escapes resolved, joiners dropped)."""
    texts = []
    for token in _PARSER.parse(markdown):
        for child in token.children or []:
            if child.type in ("text", "code_inline"):
                texts.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                texts.append(" ")
    return "".join(texts).replace("\u2060", "")


def _live(markdown: str) -> list[str]:
    return [c.type for t in _PARSER.parse(markdown) for c in [t, *(t.children or [])] if c.type in LIVE]


def _problems(at: AppTest) -> list[str]:
    problems = []
    for kind, field, text in _strings(at):
        if not any(trace in text for trace in TRACES):
            continue  # the app's own text, not data
        if field == "option":
            if "\\" in text or "\u2060" in text:
                problems.append(f"{kind} option escaped: {text!r}")
            continue
        live = _live(text) + links_and_images(text)  # the second: GFM autolinks too (https://…, www.…)
        if live or STREAMLIT_SYNTAX.search(text):
            problems.append(f"{kind}.{field} renders {live or 'Streamlit syntax'}: {text!r}")
        shown = _plain(text)
        if any(p in text.replace("\\", "") and p not in shown for p in PAYLOADS):
            problems.append(f"{kind}.{field} shows {shown!r}, not the raw value")
    return problems


def _page_runs(root: Path) -> Iterator[tuple[str, AppTest]]:
    for tab in TABS:
        yield f"Customer/{tab}", open_app(TIMEOUT, bundle="tiny", customer=IDS[1], tab=tab)
    for page in ("validation", "global_explanations", "model_card", "models", "items", "monitoring"):
        yield page, open_app(TIMEOUT, f"app_pages/{page}.py", bundle="tiny")


def test_every_widget_on_every_page_shows_data_as_text(hostile_root, monkeypatch):
    monkeypatch.setenv(data.ARTIFACTS_ENV, str(hostile_root))
    problems, seen = [], 0
    for where, at in _page_runs(hostile_root):
        assert not at.exception, (where, at.exception)
        found = [s for s in _strings(at) if any(trace in s[2] for trace in TRACES)]
        seen += len(found)
        problems += [f"{where}: {p}" for p in _problems(at)]
    Path("test-output").mkdir(exist_ok=True)
    Path("test-output/widget_walk_problems.txt").write_text("\n".join(problems))
    assert problems == []
    assert seen > 20  # the walk did meet the payloads (labels, options, buttons, captions)


def test_the_similar_customers_buttons_name_the_real_ids(hostile_root, monkeypatch):
    monkeypatch.setenv(data.ARTIFACTS_ENV, str(hostile_root))
    at = open_app(TIMEOUT, bundle="tiny", customer=IDS[1], tab="Similar customers")
    assert not at.exception
    labels = [b.label for b in at.button if "Open" in b.label]
    assert labels, "no 'Open customer' buttons"
    shown = {_plain(label) for label in labels}
    assert any(IDS[0] in text for text in shown) and any(IDS[2] in text for text in shown), shown


def test_the_checker_itself_catches_live_markdown():
    """The walk's own judge, on strings the app must never produce."""
    assert _live("[lbl](javascript:alert(3))") and _live("**paperless**") and _live("<b>Plan</b>")
    assert STREAMLIT_SYNTAX.search(":material/warning:172")
    assert links_and_images("see https://ev.il/g") and not links_and_images("see https\\:/\u2060/ev.il/g")
    assert not _live("\\*\\*paperless\\*\\*") and _plain("\\_it281\\_") == "_it281_"

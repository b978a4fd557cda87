"""inert(): what it does to text, checked with a Markdown parser and GFM's autolink rules."""

from __future__ import annotations

import pytest

from dashboard.shell.plain import WORD_JOINER, inert
from store.customers import parse_customer_id
from tests.dashboard.test_hostile import HOSTILE, links_and_images


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_text_yields_no_link_or_image(payload):
    assert links_and_images(payload) != [] or payload.startswith(":red")  # the payload itself is live Markdown
    assert links_and_images(inert(payload)) == []


def test_plain_text_reads_the_same_once_unescaped():
    shown = inert("Fiber optic (2 yrs) - 50% off!")
    assert shown == r"Fiber optic \(2 yrs\) \- 50\% off\!"


def test_newlines_cannot_start_blocks_and_long_text_is_cut():
    assert inert("a\n# heading\n- item") == r"a \# heading \- item"
    assert inert("x" * 300).endswith("…") and len(inert("x" * 300)) == 201


def test_a_copied_id_with_the_word_joiner_still_parses():
    shown = inert("user@corp.example")
    assert WORD_JOINER in shown
    copied = shown.replace("\\", "")
    assert parse_customer_id(copied, "string") == "user@corp.example"

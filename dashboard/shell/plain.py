"""Make text from users or data inert before it reaches anything that renders Markdown.

Streamlit's `st.markdown`, `st.error`, `st.info`, `st.caption`, metric help and
similar elements all render GitHub-flavoured Markdown (links, images, raw HTML,
colour directives, LaTeX, and URLs, `www.` names and e-mail addresses turned
into links). A customer ID, a bundle name, a category or an item title must
never become a link or make the browser fetch an image, so every such value
goes through `inert()` on its way into those elements. Tables (`st.dataframe`)
and Altair charts show values as text already.

Two layers, both needed (checked in real Chromium by tests/e2e/test_hostile_browser.py):

- every ASCII punctuation character is backslash-escaped, which CommonMark
  allows for all of them: no link, image, HTML, emphasis, heading, list, table,
  `:red[…]` directive or `$…$` formula can start;
- GFM's autolink literals are found *after* parsing, in the text itself, so
  escapes don't stop them: an invisible WORD JOINER (U+2060) goes after every
  ':' before a '/', inside every 'www.' and after every '@'. Text a viewer
  copies may carry it; `store.customers.parse_customer_id` drops it.
"""

from __future__ import annotations

import re
import string

WORD_JOINER = "\u2060"

# CommonMark lets any ASCII punctuation be backslash-escaped.
_ESCAPES = str.maketrans({c: "\\" + c for c in string.punctuation})
# What mdast-util-gfm-autolink-literal (Streamlit's Markdown renderer) turns into links.
_AUTOLINK_STARTS = re.compile(r"(:)(?=/)|(?i:(www))(?=\.)|(@)")


def inert(value: object, limit: int | None = 200) -> str:
    """`value` as Markdown-safe text, shortened to `limit` characters (None: no limit)."""
    text = str(value)
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    # Newlines would start new Markdown blocks (headings, lists): show them as spaces.
    text = " ".join(text.split()) if any(c in text for c in "\r\n\t\f\v") else text
    text = _AUTOLINK_STARTS.sub(lambda m: m.group(0) + WORD_JOINER, text)
    return text.translate(_ESCAPES)

"""Make text from users or data inert before it reaches anything that renders Markdown.

Streamlit's `st.markdown`, `st.error`, `st.info`, `st.caption`, metric help and
similar elements all render Markdown (links, images, emoji and colour
shortcodes, LaTeX, autolinked URLs). A customer ID, a bundle name, a category
or an item title must never become a link or make the browser fetch an image,
so every such value goes through `inert()` on its way into those elements.
Tables (`st.dataframe`) and Altair charts show values as text already.
"""

from __future__ import annotations

import string

# CommonMark lets any ASCII punctuation be backslash-escaped; escaping all of it
# also breaks GFM autolinks ("https\:\/\/…", "www\.…") and Streamlit's
# ":material/…:" / ":red[…]" shortcodes and "$…$" LaTeX.
_ESCAPES = str.maketrans({c: "\\" + c for c in string.punctuation})


def inert(value: object, limit: int | None = 200) -> str:
    """`value` as Markdown-safe text, shortened to `limit` characters (None: no limit)."""
    text = str(value)
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    # Newlines would start new Markdown blocks (headings, lists): show them as spaces.
    text = " ".join(text.split()) if any(c in text for c in "\r\n\t") else text
    return text.translate(_ESCAPES)

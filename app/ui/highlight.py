"""Rich-text fragments for the result list: matched words in bold (no Qt)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from app.search.normalize import tokenize

_WORD_RE = re.compile(r"\w+", re.UNICODE)


def highlight_html(text: str, terms: Iterable[str]) -> str:
    """Escape ``text`` for Qt rich text and wrap words matching ``terms`` in ``<b>``.

    Terms are normalised tokens (case- and accent-folded), as in ``SearchResult.matched_terms``.

    Example: ``highlight_html("Fractura del fémur", ["femur"]) == "Fractura del <b>fémur</b>"``
    """
    wanted = set(terms)
    if not wanted:
        return html.escape(text)
    out: list[str] = []
    pos = 0
    for match in _WORD_RE.finditer(text):
        out.append(html.escape(text[pos : match.start()]))
        word = match.group(0)
        folded = tokenize(word)
        if folded and all(tok in wanted for tok in folded):
            out.append(f"<b>{html.escape(word)}</b>")
        else:
            out.append(html.escape(word))
        pos = match.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)

"""Whether a spotted span is a real word sequence of Spanish clinical text.

A mention found inside a run of other characters ("xÇUx"), or made of letters that Spanish
does not spell with ("ÇU", "ÏM": binary data read as text, whose accents fold into the
abbreviations CU and IM), is shown to the coder but never accepted on its own. Of CodiEsp
dev's 3,431 gold diagnosis spans, the 3 that fail cut a word ("ITU" of "ITUs").
"""

from __future__ import annotations

import re

from app.document.types import Mention

#: Spanish letters, and the few others of eponyms (Waldenström, Sjögren, Ménière).
_LETTERS = "A-Za-zÁÉÍÓÚÜÑáéíóúüñÄÖËÀÈÒäöëàèò"
#: One word: letters and digits, inner hyphens, slashes, dots or apostrophes ("HbA1c",
#: "tipo-2", "a.c.", "d'Hont"), decimal commas (22,4), ordinals (1º), a final + or - (VIH+).
_WORD = re.compile(rf"[{_LETTERS}0-9ºª°]+(?:(?:[-/.']|(?<=\d),(?=\d))[{_LETTERS}0-9ºª°]+)*[+-]?")
#: Punctuation around or between words.
_PUNCT = "\"'«»“”‘’()[]{}.,;:¿?¡!-–—/%=<>"


def is_word_span(note: str, mention: Mention) -> bool:
    """True when ``mention`` is whole words of ``note``: its text is ``note[start:end]``,
    it starts and ends at word boundaries, and every token is a word of Spanish spelling
    (or punctuation), with at least one letter.

    Example: ``is_word_span("Tiene HTA.", Mention(6, 9, "HTA"))`` is True;
    ``is_word_span("xÇU", Mention(1, 3, "ÇU"))`` is False.
    """
    start, end, text = mention.start, mention.end, mention.text
    if not text.strip() or note[start:end] != text:
        return False
    if (start > 0 and note[start - 1].isalnum()) or (end < len(note) and note[end].isalnum()):
        return False
    tokens = [token.strip(_PUNCT) for token in text.split()]
    words = [token for token in tokens if token]
    return bool(words) and all(_WORD.fullmatch(w) for w in words) and any(
        c.isalpha() for c in text
    )

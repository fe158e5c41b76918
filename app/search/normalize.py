"""Text normalisation shared by the store, the search pipeline and the evaluation.

Folding matches SQLite FTS5's ``unicode61 remove_diacritics 2`` tokenizer (which also
folds ``ñ`` to ``n``), so exact alias look-ups and BM25 agree on what a word is.
"""

from __future__ import annotations

import re
import unicodedata

_WORD_RE = re.compile(r"[0-9a-z]+")


def strip_accents(text: str) -> str:
    """Remove combining marks (accents, tildes, diaereses).

    Example: ``strip_accents("Fémur, niño") == "Femur, nino"``
    """
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokenize(text: str) -> list[str]:
    """Split text into case- and accent-folded word tokens (ASCII letters and digits).

    Example: ``tokenize("DM2 con nefropatía") == ["dm2", "con", "nefropatia"]``
    """
    return _WORD_RE.findall(strip_accents(text.casefold()))


def normalize_text(text: str) -> str:
    """Fold case and accents, turn punctuation into spaces and collapse blanks.

    Example: ``normalize_text(" Fractura del cuello-del FÉMUR. ")`` is
    ``"fractura del cuello del femur"``
    """
    return " ".join(tokenize(text))

"""Query understanding: normalisation, typed-code detection, abbreviation expansion."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.codes import parse_typed_code
from app.search.abbreviations import AbbreviationTable
from app.search.normalize import normalize_text, tokenize
from app.search.qualifiers import read_qualifiers
from app.search.types import Query

if TYPE_CHECKING:  # spelling imports this module's stop words
    from app.search.spelling import Vocabulary

#: Longer input is cut here (a pasted note belongs in document mode, not the search box).
MAX_QUERY_CHARS = 1000

#: Function words that carry no meaning for BM25 (Spanish and English), accent-folded.
STOP_WORDS = frozenset(
    {
        "a",
        "al",
        "ante",
        "bajo",
        "con",
        "contra",
        "de",
        "del",
        "desde",
        "durante",
        "e",
        "el",
        "en",
        "entre",
        "hacia",
        "hasta",
        "la",
        "las",
        "le",
        "les",
        "lo",
        "los",
        "mas",
        "o",
        "para",
        "pero",
        "por",
        "que",
        "se",
        "segun",
        "sin",
        "so",
        "sobre",
        "su",
        "sus",
        "tras",
        "u",
        "un",
        "una",
        "unas",
        "unos",
        "y",
        "ya",
        "otra",
        "otras",
        "otro",
        "otros",
        "este",
        "esta",
        "estos",
        "estas",
        "ese",
        "esa",
        "eso",
        "muy",
        "an",
        "and",
        "as",
        "at",
        "by",
        "for",
        "from",
        "in",
        "into",
        "is",
        "it",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
        "without",
    }
)


def content_tokens(text: str, limit: int = 32) -> list[str]:
    """Distinct non-stop-word tokens of ``text`` in order, at most ``limit``.

    Example: ``content_tokens("Fractura del cuello del fémur") == ["fractura", "cuello", "femur"]``
    """
    seen: dict[str, None] = {}
    for token in tokenize(text):
        if token not in STOP_WORDS:
            seen.setdefault(token, None)
        if len(seen) >= limit:
            break
    return list(seen)


def analyze_query(
    text: str,
    abbreviations: AbbreviationTable | None = None,
    vocabulary: Vocabulary | None = None,
) -> Query:
    """Understand a raw query; with a catalog's ``vocabulary``
    (:func:`app.search.spelling.vocabulary_for`) also correct slips and read lay terms.

    Example: ``analyze_query("IAM inferior", table).expanded`` is
    ``"infarto agudo de miocardio inferior"``
    """
    truncated = len(text) > MAX_QUERY_CHARS
    text = text[:MAX_QUERY_CHARS].strip()
    expansions = tuple(abbreviations.find(text)) if abbreviations is not None else ()
    expanded_raw = abbreviations.expand(text) if expansions and abbreviations else text
    normalized, expanded = normalize_text(text), normalize_text(expanded_raw)
    code = parse_typed_code(text)
    understood = (
        vocabulary.understand(text, expanded, abbreviations)
        if vocabulary is not None and code is None
        else {}
    )
    return Query(
        text=text,
        normalized=normalized,
        expanded=expanded,
        code=code,
        expansions=expansions,
        truncated=truncated,
        tokens=tuple(dict.fromkeys(content_tokens(expanded) + content_tokens(normalized))),
        qualifiers=read_qualifiers(tokenize(expanded)),
        **understood,
    )

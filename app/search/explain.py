"""Why a result was found, and what tells the two best results apart.

:func:`explain` reports, for each shown code, which query words matched its Spanish or
English title, one of its inclusion terms or the alias text the retriever matched; and, when
the two best codes are siblings, the words that distinguish them (:func:`difference`).

Words are compared after case and accent folding (as :mod:`app.search.normalize` does) with
a light stemming rule (:func:`word_forms`): a plural ``-s``/``-es`` and then a final gender
vowel (``-o``, ``-a``, ``-e``) may be dropped, so ``fracturas``, ``fractura`` and ``fracture``
share the form ``fractur`` and ``derecho`` matches ``derecha``. The bilingual qualifier
vocabulary (:mod:`app.search.qualifiers`) also matches across languages: the query word
``derecho`` matches ``right`` in an English title.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from app.catalog.store import CatalogStore, CodeRecord
from app.search.normalize import normalize_text, tokenize
from app.search.qualifiers import aspect_of, concept_of, word_forms
from app.search.query import STOP_WORDS, content_tokens
from app.search.types import Query

#: Where a query word can match, in the order matches are reported.
FIELDS = ("title_es", "title_en", "inclusion", "alias")
#: What can distinguish two sibling codes, in order of precedence.
ASPECTS = ("laterality", "episode", "acuity", "complication", "severity", "other")

# "with"/"without" alone are weak evidence of a complication ("with routine healing"), and
# none at all before a "not specified" word ("sin otra especificación").
_WEAK = frozenset({"with", "without"})
_NEUTRAL_ES = {"especificacion", "especificado", "especificada", "clasificado", "clasificada"}
_NEUTRAL = frozenset({"unspecified", "specified", "nos", "classified", "elsewhere", *_NEUTRAL_ES})
# a number after one of these is a severity grade ("stage 3", "estadio 2")
_GRADES = frozenset({"stage", "estadio", "grade", "grado", "degree"})
_TEXT_WORD_RE = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Match:
    """A query word found in one text of a result.

    Attributes:
        word: the query word, folded (from the abbreviation's expansion when ``via`` is set).
        field: ``"title_es"``, ``"title_en"``, ``"inclusion"`` or ``"alias"``.
        text: the title, inclusion term or alias text it matched in.
        term: the word of ``text`` it matched, as written there (to highlight).
        via: the abbreviation, as typed, that ``word`` comes from; None otherwise.

    Example: ``Match("derecho", "title_en", "Fracture of ... right femur", "right")``
    """

    word: str
    field: str
    text: str
    term: str
    via: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready form (stable keys)."""
        return {
            "word": self.word,
            "field": self.field,
            "text": self.text,
            "term": self.term,
            "via": self.via,
        }


@dataclass(frozen=True)
class Difference:
    """What distinguishes this code's title from a sibling's.

    Attributes:
        aspect: the main aspect (the first of ``aspects``).
        this: words only in this code's title, consecutive ones joined into a phrase.
        other: words only in the other code's title, likewise.
        other_code: the sibling compared with.
        aspects: every aspect found, in :data:`ASPECTS` order (``("other",)`` when none).
        language: ``"es"`` when both codes' own Spanish titles were compared, else ``"en"``.

    Example: ``Difference("laterality", ("right",), ("left",), "S72.002A")``
    """

    aspect: str
    this: tuple[str, ...]
    other: tuple[str, ...]
    other_code: str
    aspects: tuple[str, ...] = ()
    language: str = "en"

    def to_dict(self) -> dict:
        """JSON-ready form (stable keys)."""
        return {
            "aspect": self.aspect,
            "aspects": list(self.aspects),
            "this": list(self.this),
            "other": list(self.other),
            "other_code": self.other_code,
            "language": self.language,
        }


@dataclass(frozen=True)
class Explanation:
    """Why one result was found.

    Attributes:
        code: the result's code.
        matches: query words found, in query order, then in :data:`FIELDS` order; at most one
            match per word and field (the text matching most query words).
        unmatched: query words found nowhere (an expanded abbreviation is not listed).
        difference: set on the two best results when they are siblings.

    Example: ``explain(store, query, [("I10", ())])[0].words == ("hipertension",)``
    """

    code: str
    matches: tuple[Match, ...] = ()
    unmatched: tuple[str, ...] = ()
    difference: Difference | None = None

    @property
    def words(self) -> tuple[str, ...]:
        """The distinct query words that matched, in query order."""
        return tuple(dict.fromkeys(m.word for m in self.matches))

    def to_dict(self) -> dict:
        """JSON-ready form (stable keys)."""
        return {
            "code": self.code,
            "matches": [m.to_dict() for m in self.matches],
            "unmatched": list(self.unmatched),
            "difference": self.difference.to_dict() if self.difference else None,
        }





def _fold(word: str) -> str:
    return "".join(tokenize(word))


class _Terms:
    """The words of one text, looked up by form and by qualifier concept."""

    __slots__ = ("by_concept", "by_form", "words")

    def __init__(self, text: str):
        self.words = [(w, f) for w in _TEXT_WORD_RE.findall(text) if (f := _fold(w))]
        self.by_form: dict[str, str] = {}
        self.by_concept: dict[str, str] = {}
        for written, folded in self.words:
            for form in word_forms(folded):
                self.by_form.setdefault(form, written)
            concept = concept_of(folded)
            if concept:
                self.by_concept.setdefault(concept, written)

    def find(self, word: str, prefix: bool = False) -> str | None:
        """The written word of the text that ``word`` matches, or None."""
        for form in word_forms(word):
            if form in self.by_form:
                return self.by_form[form]
        concept = concept_of(word)
        if concept in self.by_concept:
            return self.by_concept[concept]
        if prefix:
            return next((w for w, f in self.words if f.startswith(word)), None)
        return None


@lru_cache(maxsize=65536)
def text_terms(text: str) -> _Terms:
    """The words of ``text`` by form and qualifier concept (cached: titles repeat)."""
    # titles of the shown codes repeat from one keystroke to the next
    return _Terms(text)


def _query_words(query: Query) -> tuple[list[str], dict[str, str], set[str]]:
    """Query words (expansion first), the abbreviation each expanded word comes from, and
    the folded abbreviations themselves."""
    typed = content_tokens(query.normalized)
    via: dict[str, str] = {}
    for expansion in query.expansions:
        for word in content_tokens(expansion.expansions[0]):
            if word not in typed:
                via.setdefault(word, expansion.token)
    abbreviations = {_fold(e.token) for e in query.expansions}
    words = list(dict.fromkeys(content_tokens(query.expanded) + typed))
    return words, via, abbreviations


def inclusion_terms(store: CatalogStore, codes: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    codes = list(dict.fromkeys(codes))
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for code, text in store.query(
            "SELECT code, text FROM notes WHERE kind = 'inclusion_term' "
            f"AND code IN ({marks}) ORDER BY code, seq",
            chunk,
        ):
            out.setdefault(code, []).append(text)
    return out


def _field_texts(
    record: CodeRecord, inclusions: Sequence[str], matched: Sequence[str], skip: set[str]
) -> list[tuple[str, list[str]]]:
    titles = {normalize_text(t) for t in (record.title_es, record.title_en) if t}
    by_norm = {normalize_text(t): t for t in inclusions}
    first: list[str] = []
    aliases: list[str] = []
    for text in matched:
        norm = normalize_text(text)
        if not norm or norm in titles or norm in skip:
            continue
        if norm in by_norm:
            first.append(by_norm[norm])  # the inclusion term the retriever matched leads
        else:
            aliases.append(text)
    return [
        ("title_es", [record.title_es] if record.title_es else []),
        ("title_en", [record.title_en]),
        ("inclusion", list(dict.fromkeys([*first, *inclusions]))),
        ("alias", list(dict.fromkeys(aliases))),
    ]


def _matches(
    words: list[str], texts: list[tuple[str, list[str]]], via: dict[str, str], last: str | None
) -> list[Match]:
    hits_by_field = []
    for field, field_texts in texts:
        hits = []
        for text in field_texts:
            terms = text_terms(text)
            found = {w: t for w in words if (t := terms.find(w, prefix=w == last))}
            if found:
                hits.append((text, found))
        hits.sort(key=lambda hit: -len(hit[1]))  # stable: earlier texts win ties
        hits_by_field.append((field, hits))
    matches = []
    for word in words:
        for field, hits in hits_by_field:
            for text, found in hits:
                if word in found:
                    matches.append(Match(word, field, text, found[word], via.get(word)))
                    break
    return matches


def explain(
    store: CatalogStore,
    query: Query,
    results: Sequence[tuple[str, Sequence[str]]],
    records: Mapping[str, CodeRecord] | None = None,
    prefix_last: bool = False,
) -> list[Explanation]:
    """Explain each result: query words matched, and the difference of the two best.

    Runs one SQL query for the inclusion terms of all results (and one more for their
    records when ``records`` is not given).

    Args:
        store: the catalog.
        query: the analysed query (:func:`app.search.query.analyze_query`).
        results: ``(code, matched)`` per result, best first; ``matched`` are the texts the
            retriever matched (``Candidate.matched``).
        records: the results' records when the caller already has them (``store.get_many``).
        prefix_last: type-ahead: the query's last word also matches as a prefix (3+ letters).

    Returns:
        One :class:`Explanation` per result, in order; a code missing from the catalog gets
        no matches.

    Example: ``explain(store, analyze_query("fémur derecho"), [("S72.001A", ())])``
    """
    codes = [code for code, _ in results]
    if records is None:
        records = store.get_many(codes)
    inclusions = inclusion_terms(store, [c for c in codes if c in records])
    words, via, abbreviations = _query_words(query)
    tokens = tokenize(query.expanded)
    last = tokens[-1] if prefix_last and tokens and len(tokens[-1]) >= 3 else None
    skip = {normalize_text(query.code)} if query.code else set()
    out = []
    for code, matched in results:
        record = records.get(code)
        if record is None:
            unmatched = tuple(w for w in words if w not in abbreviations)
            out.append(Explanation(code, (), unmatched))
            continue
        texts = _field_texts(
            record, inclusions.get(code, []), matched, skip | {normalize_text(code)}
        )
        matches = _matches(words, texts, via, last)
        found = {m.word for m in matches}
        unmatched = tuple(w for w in words if w not in found and w not in abbreviations)
        out.append(Explanation(code, tuple(matches), unmatched))
    first = [records.get(code) for code in codes[:2]]
    if len(first) == 2 and first[0] and first[1] and siblings(first[0], first[1]):
        out[0] = _with_difference(out[0], difference(first[0], first[1]))
        out[1] = _with_difference(out[1], difference(first[1], first[0]))
    return out


def _with_difference(explanation: Explanation, diff: Difference | None) -> Explanation:
    return Explanation(explanation.code, explanation.matches, explanation.unmatched, diff)


def siblings(a: CodeRecord, b: CodeRecord) -> bool:
    """True when two distinct codes share a parent or a category and neither contains the
    other.

    Example: ``siblings(store.get("S72.001A"), store.get("S72.002A")) is True``
    """
    if a.code.startswith(b.code) or b.code.startswith(a.code):
        return False
    return (a.parent is not None and a.parent == b.parent) or (
        a.category is not None and a.category == b.category
    )


class _Word(NamedTuple):
    written: str
    forms: frozenset[str]
    kind: str  # "content", "weak" (with/without/con/sin) or "stop"
    concept: str | None


@lru_cache(maxsize=4096)
def _title_words(title: str) -> tuple[_Word, ...]:
    raw = [(w, f) for w in _TEXT_WORD_RE.findall(title) if (f := _fold(w))]
    words = []
    for i, (written, folded) in enumerate(raw):
        concept = concept_of(folded)
        kind = "weak" if concept in _WEAK else "stop" if folded in STOP_WORDS else "content"
        if kind == "weak":
            after = next((f for _, f in raw[i + 1 :] if f not in STOP_WORDS), "")
            if after in _NEUTRAL:
                concept = None
        elif folded.isdigit() and i and raw[i - 1][1] in _GRADES:
            concept = "stage"
        words.append(_Word(written, word_forms(folded), kind, concept))
    return tuple(words)


def _unshared(words: Sequence[_Word], other: Sequence[_Word]) -> tuple[list[str], list[_Word]]:
    """Phrases of consecutive words that ``other`` lacks (function words kept only inside a
    phrase), and those words."""
    other_forms = frozenset().union(*(w.forms for w in other if w.kind != "stop"))
    phrases: list[str] = []
    current: list[str] = []
    pending: list[str] = []
    differing: list[_Word] = []
    for word in words:
        if word.kind == "stop":
            if current:
                pending.append(word.written)
        elif word.forms & other_forms:
            if current:
                phrases.append(" ".join(current))
            current, pending = [], []
        else:
            current += [*pending, word.written]
            pending = []
            differing.append(word)
    if current:
        phrases.append(" ".join(current))
    return list(dict.fromkeys(phrases)), differing


def _aspects(words: Sequence[_Word]) -> tuple[str, ...]:
    found = {
        "severity" if w.concept == "stage" else aspect_of(w.concept)
        for w in words
        if w.concept and w.concept not in _WEAK
    }
    if found:
        return tuple(a for a in ASPECTS if a in found) or ("other",)
    if any(w.concept in _WEAK for w in words):
        return ("complication",)
    return ("other",)


def _own_spanish(record: CodeRecord) -> bool:
    return bool(record.title_es) and not record.title_es_inherited


def difference(a: CodeRecord, b: CodeRecord) -> Difference | None:
    """What distinguishes ``a`` from ``b``, by their titles' differing words.

    Compares the Spanish titles when both codes have their own (not a category's), else,
    or when those are equal, the English ones. Shared words (by :func:`word_forms`) are
    ignored; the differing ones are classified into :data:`ASPECTS` with the bilingual
    :data:`QUALIFIERS` list (``with``/``without`` count only when nothing else does). It
    does not check that the codes are siblings (see :func:`siblings`).

    Returns:
        None when the titles have the same words.

    Example: ``difference(store.get("S72.001A"), store.get("S72.002A")).aspect == "laterality"``
    """
    pairs = [("es", a.title_es, b.title_es)] if _own_spanish(a) and _own_spanish(b) else []
    pairs.append(("en", a.title_en, b.title_en))
    for language, title_a, title_b in pairs:
        words_a, words_b = _title_words(title_a or ""), _title_words(title_b or "")
        this, differing_a = _unshared(words_a, words_b)
        other, differing_b = _unshared(words_b, words_a)
        if this or other:
            aspects = _aspects(differing_a + differing_b)
            return Difference(aspects[0], tuple(this), tuple(other), b.code, aspects, language)
    return None

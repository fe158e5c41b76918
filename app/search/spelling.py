"""Spelling correction against Cielo's own vocabulary.

A coder types "hipotiroidsmo" or "cefalea tensinal": neither exact aliases nor BM25 find a
word the catalog does not contain. The :class:`Vocabulary` of a catalog knows every word of
its titles (Spanish and English), inclusion terms and aliases, plus the words of the lay
lexicon (:mod:`app.search.lay_terms`); :meth:`Vocabulary.correct` replaces each word it does
not know by the nearest *Spanish* word it does (titles in Spanish, aliases, lay terms and
their clinical readings), within an edit budget that grows with the word's length
(:func:`max_edits`; optimal string alignment distance, so two swapped letters are one edit).

What is never corrected:

- a word the vocabulary knows, in any language, accents and case ignored;
- a word of fewer than :data:`MIN_LENGTH` letters, a word with a digit (codes, ``DM2``,
  ``H1N1``) and an abbreviation of the abbreviation table, however it is written;
- a word whose plural or singular, or masculine or feminine, form is known ("urgencia" when
  the catalog only has "urgencias"): that is Spanish grammar, not a slip.

Among equally near words the one in more Spanish catalog texts wins; the suggestion is shown
with the accents the catalog writes it with ("hipotiroidismo", "tensional").

The search pipeline searches the corrected query *as well as* the original one
(``Query.variants``), so a wrong guess costs a few extra candidates, never the original ones.

Candidate search uses RapidFuzz (C++ edit distances over the vocabulary bucketed by length),
chosen over SymSpell by measurement on CodiEsp dev with the seeded typist of
``training.typos``: the same corrections (both return the nearest words), no build time
against 0.3 s for SymSpell's delete index, and 0.4 ms p95 per query against 0.05 ms — well
within the query budget (see ``training/reports/spelling/spelling.md``).
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA

from app.catalog.store import CatalogStore
from app.search.abbreviations import AbbreviationTable
from app.search.lay_terms import LayLexicon, LayMatch
from app.search.normalize import tokenize
from app.search.query import STOP_WORDS
from app.search.translation import Translator
from app.search.types import Query

__all__ = [
    "MIN_LENGTH",
    "Correction",
    "Vocabulary",
    "apply_corrections",
    "max_edits",
    "understanding_dict",
    "understanding_lines",
    "vocabulary_for",
]

log = logging.getLogger(__name__)

#: Words shorter than this are never corrected (too many neighbours, often abbreviations).
MIN_LENGTH = 4
#: Searchable fields whose text is Spanish (correction targets).
SPANISH_FIELDS = ("title_es", "title_es_inherited", "alias")

#: At most this many query variants are searched besides the query itself.
MAX_VARIANTS = 4
#: At most this many clinical readings of the lay terms in one query are searched.
MAX_LAY_READINGS = 3

_RAW_WORD_RE = re.compile(r"[^\W_]+")
_ACCENTED = frozenset("áéíóúüñ")


def max_edits(length: int) -> int:
    """The edit budget of a word of ``length`` letters: 0 below :data:`MIN_LENGTH`, 1 up
    to 7 letters, 2 from 8 (two edits only to a word with the same first letter:
    "reagudizado" is no slip of "agudizado").

    Example: ``[max_edits(n) for n in (3, 5, 8)] == [0, 1, 2]``
    """
    if length < MIN_LENGTH:
        return 0
    return 1 if length < 8 else 2


def inflections(word: str) -> set[str]:
    """Spanish number and gender variants of a folded word (a rough, generous rule).

    Example: ``inflections("urgencia") >= {"urgencias", "urgencio"}``
    """
    forms: set[str] = set()
    if word.endswith("es"):
        forms.add(word[:-2])
    if word.endswith("s"):
        forms.add(word[:-1])
    else:
        forms.update((word + "s", word + "es"))
    for this, that in (("o", "a"), ("a", "o"), ("os", "as"), ("as", "os")):
        if word.endswith(this):
            forms.add(word[: -len(this)] + that)
    forms.discard(word)
    return forms


@dataclass(frozen=True)
class Correction:
    """A word of the query replaced by a vocabulary word.

    ``start``/``end`` index the text as typed; ``suggestion`` is the vocabulary word as the
    catalog spells it (accents), in the case the word was typed in; ``folded`` is its
    case- and accent-folded form.

    Example: ``Correction("hipotiroidsmo", 0, 13, "hipotiroidismo", "hipotiroidismo", 1)``
    """

    word: str
    start: int
    end: int
    suggestion: str
    folded: str
    distance: int

    def to_dict(self) -> dict:
        """JSON-ready form (stable keys)."""
        return {
            "word": self.word,
            "start": self.start,
            "end": self.end,
            "suggestion": self.suggestion,
            "distance": self.distance,
        }


def understanding_dict(query: Query) -> dict:
    """What the query analysis corrected and read, JSON-ready (stable keys): ``corrected``
    (the text with its slips corrected, or None), ``corrections`` and ``lay_terms``.

    Example: ``understanding_dict(pipeline.analyze("cefalea tensinal"))["corrected"]`` is
    ``"cefalea tensional"``
    """
    return {
        "corrected": query.corrected,
        "corrections": [c.to_dict() for c in query.corrections],
        "lay_terms": [m.to_dict() for m in query.lay_terms],
    }


def understanding_lines(query: Query) -> list[str]:
    """The same for people, in Spanish: "¿Quería decir «…»?" and each lay term read.

    Example: ``understanding_lines(pipeline.analyze("culebrilla"))`` is
    ``["Término coloquial: «culebrilla» = herpes zóster"]``
    """
    lines = []
    if query.corrected is not None:
        lines.append(f"¿Quería decir «{query.corrected}»? (se ha buscado también)")
    for match in query.lay_terms:
        lines.append(
            f"Término coloquial: «{match.term.term}» = {' / '.join(match.term.clinical)}"
        )
    return lines


def _in_case_of(word: str, typed: str) -> str:
    if typed.isupper() and len(typed) > 1:
        return word.upper()
    if typed[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def apply_corrections(text: str, corrections: Iterable[Correction]) -> str:
    """``text`` with each corrected span replaced by its suggestion.

    Example: ``apply_corrections("cefalea tensinal", [c]) == "cefalea tensional"``
    """
    parts: list[str] = []
    position = 0
    for c in sorted(corrections, key=lambda c: c.start):
        parts.append(text[position : c.start])
        parts.append(c.suggestion)
        position = c.end
    parts.append(text[position:])
    return "".join(parts)


class Vocabulary:
    """The words a catalog knows, and the Spanish ones a slip may be corrected to.

    Args:
        known: every known folded word with its document frequency.
        targets: the Spanish folded words corrections may produce, with the number of
            Spanish catalog texts that contain them (the tie-breaker).
        surfaces: how the catalog writes a folded target (accents), where it differs.
        lay: the lay lexicon the query analysis also uses (None: none).
        pairs: how many Spanish catalog texts have two content words next to each other
            (stop words skipped): among equally near targets, the one that goes with the
            query's neighbouring words wins ("lesiones cutanes" -> "cutáneas", not
            "cutánea").
        translator: the Spanish -> English word lexicon for ``Query.translated`` (None:
            no translation).

    Example: ``Vocabulary({"fractura": 9}, {"fractura": 9}).suggest("fratcura")``
    is ``("fractura", 1)``
    """

    def __init__(
        self,
        known: Mapping[str, int],
        targets: Mapping[str, int],
        surfaces: Mapping[str, str] | None = None,
        lay: LayLexicon | None = None,
        pairs: Mapping[tuple[str, str], int] | None = None,
        translator: Translator | None = None,
    ) -> None:
        self.known = dict(known)
        self.translator = translator
        self.pairs = dict(pairs or {})
        self.targets = dict(targets)
        for word, count in self.targets.items():
            self.known.setdefault(word, count)
        self.surfaces = dict(surfaces or {})
        self.lay = lay
        self._by_length: dict[int, list[str]] = {}
        for word in sorted(self.targets):
            self._by_length.setdefault(len(word), []).append(word)
        self.build_seconds = 0.0

    def __len__(self) -> int:
        return len(self.known)

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and word in self.known

    def knows(self, word: str) -> bool:
        """True for a folded word the catalog has, or one of its Spanish inflections."""
        return word in self.known or any(f in self.known for f in inflections(word))

    def suggest(
        self, word: str, before: str | None = None, after: str | None = None
    ) -> tuple[str, int] | None:
        """The nearest Spanish target of a folded word and its distance (None: nothing
        within :func:`max_edits`). Does not check whether ``word`` is itself known.

        Ties go to the target found next to ``before``/``after`` (the neighbouring content
        words of the query) in more catalog texts, then to the more frequent one.

        Example: ``vocabulary.suggest("hipotiroidsmo") == ("hipotiroidismo", 1)``
        """
        budget = max_edits(len(word))
        if budget == 0:
            return None
        best: tuple[tuple[int, int, int, str], str] | None = None
        for length in range(len(word) - budget, len(word) + budget + 1):
            bucket = self._by_length.get(length)
            if not bucket:
                continue
            for candidate, distance, _ in process.extract(
                word, bucket, scorer=OSA.distance, score_cutoff=budget, limit=None
            ):
                if distance > 1 and candidate[0] != word[0]:
                    continue  # two edits and another first letter: another word, not a slip
                context = self.pairs.get((before, candidate), 0) + self.pairs.get(
                    (candidate, after), 0
                )
                key = (int(distance), -context, -self.targets[candidate], candidate)
                if best is None or key < best[0]:
                    best = (key, candidate)
        return None if best is None else (best[1], best[0][0])

    def correct(
        self, text: str, abbreviations: AbbreviationTable | None = None
    ) -> tuple[Correction, ...]:
        """Corrections for the words of ``text`` the vocabulary does not know.

        Example: ``[c.suggestion for c in vocabulary.correct("cefalea tensinal")]`` is
        ``["tensional"]``
        """
        corrections: list[Correction] = []
        words = []
        for match in _RAW_WORD_RE.finditer(text):
            folded = tokenize(match.group())
            if len(folded) == 1 and folded[0] not in STOP_WORDS:
                words.append((match, folded[0]))
        for number, (match, word) in enumerate(words):
            typed = match.group()
            if (
                len(word) < MIN_LENGTH
                or not word.isalpha()
                or self.knows(word)
                or (abbreviations is not None and typed in abbreviations)
            ):
                continue
            before = words[number - 1][1] if number > 0 else None
            after = words[number + 1][1] if number + 1 < len(words) else None
            found = self.suggest(word, before, after)
            if found is None:
                continue
            target, distance = found
            shown = _in_case_of(self.surfaces.get(target, target), typed)
            corrections.append(
                Correction(typed, match.start(), match.end(), shown, target, distance)
            )
        return tuple(corrections)

    def understand(
        self, text: str, expanded: str, abbreviations: AbbreviationTable | None = None
    ) -> dict:
        """The ``Query`` fields this vocabulary adds to a query: ``corrections``,
        ``corrected``, ``lay_terms``, ``variants`` and ``translated`` (see
        :class:`app.search.types.Query`).

        Args:
            text: the query as typed.
            expanded: its normalised, abbreviation-expanded form.
            abbreviations: the table that expanded it (its abbreviations are not corrected).

        Example: ``vocabulary.understand("almoranas", "almoranas")["variants"]`` is
        ``("almorranas", "hemorroides")``
        """
        corrections = self.correct(text, abbreviations)
        corrected = apply_corrections(text, corrections) if corrections else None
        bases = [expanded.split()]
        if corrected is not None:
            expanded_raw = abbreviations.expand(corrected) if abbreviations else corrected
            bases.append(tokenize(expanded_raw))
        variants: list[str] = [" ".join(base) for base in bases[1:]]
        lay: dict[tuple[int, int, str], LayMatch] = {}
        if self.lay is not None:
            for base in bases:
                matches = self.lay.find(base)
                for m in matches:
                    lay.setdefault((m.start, m.end, m.term.term), m)
                variants.extend(_lay_variants(base, matches))
        variants = [v for v in dict.fromkeys(variants) if v and v != expanded]
        translated = None
        if self.translator is not None:
            base = bases[-1]
            if len(bases) > 1 and len(bases[0]) == len(base):
                # A word the lexicon knows as typed (a rare word the speller took for a
                # slip) is translated as typed.
                base = [t if self.translator.lookup(t) else c
                        for t, c in zip(bases[0], base, strict=True)]
            words = self.translator.translate(base)
            translated = " ".join(words) if words else None
        return {
            "corrections": corrections,
            "corrected": corrected,
            "lay_terms": tuple(lay.values()),
            "variants": tuple(variants[:MAX_VARIANTS]),
            "translated": translated,
        }

    @classmethod
    def from_store(
        cls,
        store: CatalogStore,
        alias_sources: tuple[str, ...] | None = None,
        lay: LayLexicon | None = None,
        translator: Translator | None = None,
    ) -> Vocabulary:
        """Read a catalog's vocabulary.

        Besides the searchable documents, the CIE-10-ES wording of its 7th characters
        ("contacto sucesivo") is Spanish it knows.

        Args:
            store: the catalog.
            alias_sources: whose aliases count (None: all; ``()``: none), as the retrievers
                that search them.
            lay: the lay lexicon (its words are known and targets).
            translator: the word lexicon of ``Query.translated`` (its Spanish words are
                known and targets).

        Example: ``"fractura" in Vocabulary.from_store(store)``
        """
        start = time.perf_counter()
        known = _known_words(store, alias_sources)
        targets: Counter[str] = Counter()
        pairs: Counter[tuple[str, str]] = Counter()
        accented: Counter[tuple[str, str]] = Counter()
        for text in _spanish_texts(store, alias_sources):
            seen: set[str] = set()
            content: list[str] = []
            for raw in _RAW_WORD_RE.findall(text.lower()):
                folded = tokenize(raw)
                if len(folded) != 1:
                    continue
                seen.add(folded[0])
                if folded[0] not in STOP_WORDS:
                    content.append(folded[0])
                if _ACCENTED.intersection(raw):
                    accented[folded[0], raw] += 1
            targets.update(seen)
            pairs.update(set(zip(content, content[1:], strict=False)))
        for text in _seventh_phrases(store):
            targets.update(set(tokenize(text)))
        if lay is not None:
            for word in lay.words():
                targets[word] += 1
        if translator is not None:
            # Words seen once may be slips coders made ("hipotirodismo"): translated, but
            # neither known nor a correction target.
            for word in translator.words:
                if translator.counts.get(word, 0) >= 2:
                    targets[word] += 1
            # Words no text of the catalog has are read as the English word they are
            # spelled like; the catalog's words that no Spanish text has are English.
            translator = translator.with_catalog(known, targets)
        surfaces: dict[str, str] = {}
        for (folded, raw), count in accented.most_common():
            if folded not in surfaces and 2 * count >= targets.get(folded, 0):
                surfaces[folded] = raw
        vocabulary = cls(known, targets, surfaces, lay, pairs, translator)
        vocabulary.build_seconds = time.perf_counter() - start
        log.debug(
            "vocabulary of %s: %d words, %d Spanish targets, built in %.3f s",
            store.path.name, len(vocabulary), len(targets), vocabulary.build_seconds,
        )
        return vocabulary


def _lay_variants(tokens: list[str], matches: list[LayMatch]) -> list[str]:
    """``tokens`` with every lay term replaced by its clinical reading: the usual readings
    first, then the second ones, ... (at most :data:`MAX_LAY_READINGS`)."""
    if not matches:
        return []
    readings = min(MAX_LAY_READINGS, max(len(m.clinical) for m in matches))
    out = []
    for r in range(readings):
        words: list[str] = []
        position = 0
        for m in matches:
            words.extend(tokens[position : m.start])
            words.extend(tokenize(m.clinical[min(r, len(m.clinical) - 1)]))
            position = m.end
        words.extend(tokens[position:])
        out.append(" ".join(words))
    return out


def _source_filter(alias_sources: tuple[str, ...] | None) -> tuple[str, list]:
    """SQL condition on ``search_docs`` keeping non-alias rows and the wanted aliases."""
    if alias_sources is None:
        return "1", []
    if not alias_sources:
        return "field != 'alias'", []
    marks = ",".join("?" * len(alias_sources))
    return f"(field != 'alias' OR source IN ({marks}))", list(alias_sources)


def _known_words(store: CatalogStore, alias_sources: tuple[str, ...] | None) -> dict[str, int]:
    """Every word of the searchable documents with its document frequency, read from the
    FTS index (fts5vocab), less the words only aliases of other sources have."""
    try:
        store.query(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.cielo_vocabulary "
            "USING fts5vocab(main, 'search_fts', 'row')"
        )
        known = dict(store.query("SELECT term, doc FROM temp.cielo_vocabulary"))
    except sqlite3.Error as exc:  # an FTS5 build without fts5vocab: read the documents
        log.debug("fts5vocab unavailable (%s); tokenising the documents", exc)
        condition, params = _source_filter(alias_sources)
        counts: Counter[str] = Counter()
        for (text,) in store.query(f"SELECT text FROM search_docs WHERE {condition}", params):
            counts.update(set(tokenize(text)))
        return dict(counts)
    if alias_sources is not None:
        sql = "SELECT text FROM search_docs WHERE field = 'alias'"
        params: list = []
        if alias_sources:
            sql += f" AND source NOT IN ({','.join('?' * len(alias_sources))})"
            params = list(alias_sources)
        excluded: Counter[str] = Counter()
        for (text,) in store.query(sql, params):
            excluded.update(set(tokenize(text)))
        for word, docs in excluded.items():
            if known.get(word, 0) <= docs:
                known.pop(word, None)
    return known


def _seventh_phrases(store: CatalogStore) -> list[str]:
    """The CIE-10-ES phrases of the catalog's 7th-character meanings."""
    from app.catalog.seventh_es import spanish_meaning

    rows = store.query("SELECT DISTINCT meaning FROM seventh_chars")
    return [phrase for (meaning,) in rows if (phrase := spanish_meaning(meaning))]


def _spanish_texts(store: CatalogStore, alias_sources: tuple[str, ...] | None) -> list[str]:
    condition, params = _source_filter(alias_sources)
    marks = ",".join("?" * len(SPANISH_FIELDS))
    rows = store.query(
        f"SELECT DISTINCT text FROM search_docs WHERE field IN ({marks}) AND {condition}",
        [*SPANISH_FIELDS, *params],
    )
    return [text for (text,) in rows]


_cache: weakref.WeakKeyDictionary[CatalogStore, dict[tuple, Vocabulary]] = (
    weakref.WeakKeyDictionary()
)
_cache_lock = threading.Lock()


def vocabulary_for(
    store: CatalogStore, alias_sources: tuple[str, ...] | None = None
) -> Vocabulary:
    """The vocabulary of a store with the bundled lay lexicon, built once per store and
    alias sources (a search pipeline asks for it when it opens).

    Example: ``vocabulary_for(store, ("codiesp-train",)).correct("hipotiroidsmo")``
    """
    key = (None if alias_sources is None else tuple(alias_sources),)
    with _cache_lock:
        per_store = _cache.setdefault(store, {})
        vocabulary = per_store.get(key)
        if vocabulary is None:
            vocabulary = Vocabulary.from_store(
                store, key[0], LayLexicon.default(), Translator.default()
            )
            per_store[key] = vocabulary
    return vocabulary

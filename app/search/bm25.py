"""Lexical retrieval with SQLite FTS5's BM25 over titles, inclusion terms and aliases.

User text never reaches ``MATCH`` as written: it is tokenised to ``[0-9a-z]+`` words and
each word is double-quoted, so FTS operators (``AND``, ``NOT``, ``-``, ``*``, ``"``,
``:``, parentheses) are plain text.
"""

from __future__ import annotations

import math
from functools import partial

from app.catalog.store import CatalogStore
from app.search.normalize import tokenize
from app.search.query import STOP_WORDS, content_tokens
from app.search.types import Candidate, Query

#: Relative trust in each kind of searchable text.
FIELD_WEIGHTS = {
    "title_es": 1.0,
    "title_es_inherited": 0.7,
    "title_en": 1.0,
    "inclusion": 0.9,
    "alias": 1.0,
}

#: Scores of a query's variants (``Query.variants``) relative to the query as typed.
VARIANT_WEIGHT = 0.9
#: Scores of the translated query (``Query.translated``) relative to the query as typed:
#: low, so that it fills in where the Spanish finds little (measured on CodiEsp dev, see
#: ``training/reports/spelling/spelling.md``).
TRANSLATED_WEIGHT = 0.3
#: The same in ``"bridge"`` mode (BM25 without a dense stage beside it): the translation is
#: the only way to the English titles, so it counts as much as the query as typed (chosen
#: on a slice of CodiEsp train, ``training/reports/translation/tuning.md``).
BRIDGE_WEIGHT = 1.0
#: Exponent of a document's own coverage (the share of its words the query holds) in the
#: score of BM25 without a dense stage: "Nausea" beats "Disturbances of skin sensation" for
#: "sensación de náusea" (chosen on a slice of CodiEsp train, see ``tuning.md``).
DOC_COVERAGE = 1.0
#: What BM25 does with the translated query (see :class:`BM25Retriever`).
TRANSLATION_MODES = ("merge", "bridge", "off", "only")
#: Words in more documents than this do not select documents for the translated query.
COMMON_DOCS = 1000
#: How many best documents of the translated query are read (per look-up).
TRANSLATED_DOC_LIMIT = 100
#: Fewer documents than this with every translated word: look for any selective word too.
TRANSLATED_ENOUGH = 10
#: At most this many of the rarest translated words select documents in that case.
TRANSLATED_SELECTIVE = 3


def fts_expression(tokens: list[str], prefix_last: bool = False) -> str:
    """An FTS5 OR-expression of quoted tokens; the last one may be a prefix query.

    Example: ``fts_expression(["fractura", "fem"], prefix_last=True) == '"fractura" OR "fem"*'``
    """
    quoted = ['"' + t.replace('"', '""') + '"' for t in tokens]
    if prefix_last and quoted and len(tokens[-1]) >= 3:
        quoted[-1] += "*"
    return " OR ".join(quoted)


def _coverage(tokens: list[str], words: set[str], prefix_last: bool = False) -> float:
    hits = sum(t in words for t in tokens[:-1])
    last = tokens[-1]
    if last in words or (prefix_last and any(w.startswith(last) for w in words)):
        hits += 1
    return hits / len(tokens)


def _groups(translated: str) -> list[tuple[str, ...]]:
    """The word groups of a translated query ("proximal|upper" -> ("proximal", "upper")),
    without stop words, repeated groups or empty ones."""
    out: dict[tuple[str, ...], None] = {}
    for part in translated.split():
        group = tuple(w for alt in part.split("|") for w in tokenize(alt) if w not in STOP_WORDS)
        if group:
            out.setdefault(group, None)
    return list(out)[:32]


def _doc_coverage(words: set[str] | frozenset[str], doc: list[str]) -> float:
    """The share of a document's content words (``doc``: its tokens) that are among
    ``words`` (1.0 for a document without any).

    Example: ``_doc_coverage({"nausea"}, ["nausea", "and", "vomiting"]) == 0.5``
    """
    content = [w for w in doc if w not in STOP_WORDS]
    return sum(w in words for w in content) / len(content) if content else 1.0


def _group_coverage(groups: list[tuple[str, ...]], words: set[str]) -> float:
    return sum(any(w in words for w in group) for group in groups) / len(groups)


class BM25Retriever:
    """BM25 over the catalog's search documents, aggregated per code (best document).

    Args:
        store: the catalog.
        alias_sources: alias sources whose documents are searchable; ``()`` searches titles
            and inclusion terms only, None searches every alias.
        prefix_last: treat the last word as a prefix (type-ahead).
        doc_limit: how many best documents to aggregate.
        translation: ``"merge"`` searches the query's English translation
            (``Query.translated``) too when no document holds every word of the Spanish,
            its scores weighed by :data:`TRANSLATED_WEIGHT` (beside a dense stage, which
            reads Spanish against English itself); ``"bridge"`` searches it unless an
            *alias* holds every word of the Spanish (a coder's own wording of one code:
            a Spanish title found whole still leaves the more specific English codes to
            find), weighed by :data:`BRIDGE_WEIGHT` (BM25 without a dense stage); ``"off"``
            does not; ``"only"`` searches nothing else (a separate retriever, named
            ``bm25_en``, e.g. for a fusion member or ranking features of its own).
        doc_coverage: exponent of each document's own coverage (the share of its content
            words the searched form holds, a translated form's alternatives all counting)
            in its score; 0 leaves it out (beside a dense stage), :data:`DOC_COVERAGE`
            for BM25 alone.

    Example: ``BM25Retriever(store).retrieve(analyze_query("fractura de fémur"), 10)``
    """

    name = "bm25"

    def __init__(
        self,
        store: CatalogStore,
        alias_sources: tuple[str, ...] | None = None,
        prefix_last: bool = False,
        doc_limit: int = 300,
        translation: str = "merge",
        doc_coverage: float = 0.0,
    ):
        if translation not in TRANSLATION_MODES:
            raise ValueError(f"translation must be one of {TRANSLATION_MODES}, not {translation!r}")
        self.store = store
        self.alias_sources = alias_sources
        self.prefix_last = prefix_last
        self.doc_limit = doc_limit
        self.translation = translation
        self.doc_coverage = doc_coverage
        if translation == "only":
            self.name = "bm25_en"

    def _sql(self) -> tuple[str, list]:
        sql = (
            "SELECT d.code, d.field, d.count, d.text, bm25(search_fts) AS s FROM search_fts "
            "JOIN search_docs d ON d.id = search_fts.rowid WHERE search_fts MATCH ?"
        )
        params: list = []
        if self.alias_sources is not None:
            if self.alias_sources:
                marks = ",".join("?" * len(self.alias_sources))
                sql += f" AND (d.field != 'alias' OR d.source IN ({marks}))"
                params.extend(self.alias_sources)
            else:
                sql += " AND d.field != 'alias'"
        return sql + " ORDER BY s LIMIT ?", params

    def _translated_rows(
        self, sql: str, params: list, groups: list[tuple[str, ...]]
    ) -> list[tuple]:
        """Documents for the translated query: those with a word of *every* group the
        catalog has (fast and precise: "fracture (proximal OR upper) right humerus"), and
        when they are few, those with one of its rarest words (at most
        :data:`TRANSLATED_SELECTIVE`). English title words such as "right" or "encounter" are
        in tens of thousands of documents: they rank (coverage) but do not select."""
        from app.search.spelling import vocabulary_for

        docs = vocabulary_for(self.store, self.alias_sources).known
        present = [g for g in (tuple(w for w in group if docs.get(w, 0)) for group in groups) if g]
        rows: list[tuple] = []
        if len(present) >= 2:
            every = " AND ".join(f"({fts_expression(list(group))})" for group in present)
            rows = self.store.query(sql, [every, *params, TRANSLATED_DOC_LIMIT])
        if len(rows) < TRANSLATED_ENOUGH:
            words = list(dict.fromkeys(w for group in groups for w in group if docs.get(w, 0)))
            if not words:
                return rows
            rare = sorted(words, key=lambda w: (docs[w], w))[:TRANSLATED_SELECTIVE]
            rare = [w for w in rare if docs[w] <= COMMON_DOCS] or rare[:1]
            rows += self.store.query(sql, [fts_expression(rare), *params, TRANSLATED_DOC_LIMIT])
        return rows

    def retrieve(self, query: Query, k: int) -> list[Candidate]:
        """Best codes for the query's content words (empty when it has none).

        The query's variants (corrected spelling, lay terms in clinical words) and its
        English translation (see ``translation``: in ``"merge"`` mode only when no
        document holds every word of the query or a variant, in ``"bridge"`` mode unless
        an alias does) are searched as well, each on its own, and a code keeps its best
        score; their scores are weighed by :data:`VARIANT_WEIGHT` and
        :data:`TRANSLATED_WEIGHT` (:data:`BRIDGE_WEIGHT`) so that, all else equal, what
        was typed leads.
        """
        sql, params = self._sql()
        best: dict[str, tuple[float, str]] = {}
        forms = list(dict.fromkeys((query.expanded, *query.variants)))
        if self.translation == "only":
            forms = []
        groups = []
        if query.translated and self.translation != "off":
            groups = _groups(query.translated)
        bridge = self.translation == "bridge"
        complete = False  # a document (an alias when bridging) holds every word of a form
        parsed: dict[str, tuple[list[str], set[str]]] = {}  # document text -> tokens, words
        for number, form in enumerate([*forms, None] if groups else forms):
            if form is None:  # the translated query: word groups, see _translated_rows
                if complete and forms:
                    break  # the Spanish found it all: the translation would add noise
                rows = self._translated_rows(sql, params, groups)
                cover = partial(_group_coverage, groups)
                words = frozenset(w for group in groups for w in group)
            else:
                tokens = content_tokens(form)
                if not tokens:
                    continue
                rows = self.store.query(
                    sql, [fts_expression(tokens, self.prefix_last), *params, self.doc_limit]
                )
                cover = partial(_coverage, tokens, prefix_last=self.prefix_last)
                words = frozenset(tokens)
            weight = 1.0 if number == 0 and form else VARIANT_WEIGHT if form else (
                (BRIDGE_WEIGHT if bridge else TRANSLATED_WEIGHT) if forms else 1.0
            )
            for code, field, count, text, bm25 in rows:
                if text not in parsed:
                    doc = tokenize(text)
                    parsed[text] = doc, set(doc)
                doc, doc_words = parsed[text]
                # BM25 over OR-ed words lets a short document sharing one word win; weigh
                # by the share of query words the document covers so full matches lead.
                coverage = cover(doc_words)
                complete = complete or (coverage == 1.0 and (not bridge or field == "alias"))
                score = -bm25 * FIELD_WEIGHTS.get(field, 1.0) * coverage**2 * weight
                if self.doc_coverage:
                    score *= _doc_coverage(words, doc) ** self.doc_coverage
                if field == "alias":
                    score *= 1.0 + 0.1 * math.log(count)
                if code not in best or score > best[code][0]:
                    best[code] = (score, text)
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:k]
        return [Candidate(code, s, self.name, (text,)) for code, (s, text) in ranked]

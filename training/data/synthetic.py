"""Synthetic Spanish queries: pluggable generators, and the deterministic ones that need no
language model.

A generator has a ``name`` and ``generate(records, rng)`` yielding :class:`Example` s for
the given catalog records; generators are created by name from a registry and selected
from the build config. Language-model text comes from :mod:`training.recipe` instead (its
deterministic backend reuses :class:`TemplateGenerator`), mixed in with ``--mix``. The
built-in generators:

* ``templates``: from each code's Spanish text (its own title, or its category's title
  plus Spanish qualifiers, :mod:`training.data.qualifiers`): the qualified text itself,
  abbreviations, dropped articles, index word order, abbreviated sides ("dcha"), short
  episode phrasings of the 7th character, lost accents and typos. Codes without a Spanish
  text get nothing: a Spanish title is never invented.
* ``lay_terms``: a curated table of Spanish lay terms (``lay_terms.tsv``) for codes in
  the selection ("ataque al corazón" -> I21.9).
* ``lay_lexicon`` (opt-in): the search's lay lexicon (``resources/lay_terms.tsv``, read by
  :mod:`app.search.lay_terms`) run backwards: a code whose own title (Spanish or English,
  less an "unspecified" ending) *is* a clinical reading gets each lay term of that reading
  ("Chilblains" -> "sabañones", "Brucelosis" -> "fiebre de Malta"), about 250 examples.
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from app.catalog.store import CodeRecord
from app.search.abbreviations import AbbreviationTable
from app.search.normalize import tokenize
from training.data.catalog_view import CatalogView
from training.data.examples import Example
from training.data.qualifiers import BILATERAL, SpanishRendering, compose, render
from training.data.variants import (
    EPISODE_PHRASES,
    Abbreviator,
    drop_accents,
    drop_articles,
    drop_letter,
    invert,
    swap_letters,
)

SOURCE = "synthetic"
#: A title's "unspecified" ending, which a lay term does not say.
_UNSPECIFIED = re.compile(
    r",?\s*(?:no especificad[oa]s?|sin otra especificación|unspecified)\s*$", re.IGNORECASE
)
LAY_TERMS_PATH = Path(__file__).with_name("lay_terms.tsv")
_LAY_HEADER = ("lay_term", "code", "note")


@runtime_checkable
class Generator(Protocol):
    """Makes synthetic examples for catalog records.

    Example: ``list(make_generator("templates", ctx).generate(records, random.Random(0)))``
    """

    name: str

    def generate(self, records: Sequence[CodeRecord], rng: random.Random) -> Iterator[Example]:
        """Yield examples for ``records``; all randomness comes from ``rng``."""
        ...


@dataclass
class GeneratorContext:
    """What generators may use besides the records.

    Attributes:
        view: the whole catalog (hierarchy, 7th characters).
        abbreviations: the clinical abbreviation table.
        variants_per_code: at most this many template variants per code.
        lay_terms: path of the lay-term TSV.
    """

    view: CatalogView
    abbreviations: AbbreviationTable
    variants_per_code: int = 3
    lay_terms: Path = LAY_TERMS_PATH


GeneratorFactory = Callable[[GeneratorContext], Generator]
_REGISTRY: dict[str, GeneratorFactory] = {}


def register_generator(name: str) -> Callable[[GeneratorFactory], GeneratorFactory]:
    """Class/function decorator adding a generator factory under ``name``.

    Raises:
        ValueError: ``name`` is taken.

    Example: ``@register_generator("llm") class LlmGenerator: ...``
    """

    def add(factory: GeneratorFactory) -> GeneratorFactory:
        if name in _REGISTRY:
            raise ValueError(f"generator {name!r} is already registered")
        _REGISTRY[name] = factory
        return factory

    return add


def available_generators() -> list[str]:
    """Registered generator names, sorted. Example: ``"templates" in available_generators()``"""
    return sorted(_REGISTRY)


def make_generator(name: str, context: GeneratorContext) -> Generator:
    """Create a registered generator.

    Raises:
        KeyError: unknown name (the message lists the known ones).

    Example: ``make_generator("lay_terms", ctx).name == "lay_terms"``
    """
    if name not in _REGISTRY:
        raise KeyError(f"unknown generator {name!r}; known: {', '.join(available_generators())}")
    return _REGISTRY[name](context)


@register_generator("templates")
class TemplateGenerator:
    """Terminology/template variants of each code's Spanish text (see the module doc)."""

    name = "templates"

    def __init__(self, context: GeneratorContext) -> None:
        self.view = context.view
        self.abbreviate = Abbreviator(context.abbreviations)
        self.per_code = context.variants_per_code

    def variants(
        self, rendering: SpanishRendering, rng: random.Random
    ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """Applicable ``(style, text)`` variants of one rendering, in a fixed order: the
        rephrasings, and the noisy ones (lost accents, typos)."""
        base = rendering.base
        out: list[tuple[str, str]] = []
        if (text := self.abbreviate(base)) is not None:
            out.append(("abbreviation", compose(rendering, base=text)))
        if (text := drop_articles(base)) is not None:
            out.append(("telegraphic", compose(rendering, base=text).lower()))
        if not (rendering.side and rendering.attached) and (text := invert(base)) is not None:
            out.append(("inverted", compose(rendering, base=text)))
        if rendering.side and rendering.side != BILATERAL:
            out.append(("side_abbreviation", compose(rendering, abbreviated_side=True).lower()))
        phrases = EPISODE_PHRASES.get(rendering.seventh or "")
        if phrases and rendering.episode and _is_plain_episode(rendering):
            out.append(("episode", compose(rendering, episode=rng.choice(phrases[1:]))))
            if rendering.seventh == "S":
                text = compose(rendering, episode="")
                out.append(("episode", f"secuela de {text[0].lower()}{text[1:]}"))
        noisy: list[tuple[str, str]] = []
        if (text := drop_accents(rendering.text)) is not None:
            noisy.append(("no_accents", text.lower()))
        if (text := swap_letters(base, rng)) is not None:
            noisy.append(("typo_swap", compose(rendering, base=text)))
        if (text := drop_letter(base, rng)) is not None:
            noisy.append(("typo_drop", compose(rendering, base=text)))
        return out, noisy

    def generate(self, records: Sequence[CodeRecord], rng: random.Random) -> Iterator[Example]:
        """The qualified text of inherited-title codes plus up to ``variants_per_code``
        variants per code drawn with ``rng`` from the rephrasings and one noisy variant."""
        for record in records:
            rendering = render(self.view, record)
            if rendering is None:
                continue
            if rendering.inherited:
                yield Example(rendering.text, record.code, "es", SOURCE, "qualified")
            options, noisy = self.variants(rendering, rng)
            if noisy:
                options.append(rng.choice(noisy))
            chosen = rng.sample(options, min(self.per_code, len(options)))
            for style, text in sorted(chosen, key=options.index):
                yield Example(text, record.code, "es", SOURCE, style)


@register_generator("lay_lexicon")
class LayLexiconGenerator:
    """The lay terms of the codes whose own title *is* a clinical reading (see the module
    doc); ``rng`` is unused. Lay words do not compose like clinical ones ("calentura
    paratifoidea" is no Spanish), so a reading inside a longer title gives nothing."""

    name = "lay_lexicon"

    def __init__(self, context: GeneratorContext) -> None:
        from app.search.lay_terms import LayLexicon

        self.per_code = context.variants_per_code
        self.by_reading: dict[tuple[str, ...], list[str]] = {}
        for entry in LayLexicon.default():
            for reading in entry.clinical:
                self.by_reading.setdefault(tuple(tokenize(reading)), []).append(entry.term)

    def lay_terms(self, record: CodeRecord) -> list[str]:
        """The lay terms of a record whose own Spanish or English title, less an
        "unspecified" ending, is a clinical reading."""
        titles = [record.title_en]
        if record.title_es and not record.title_es_inherited:
            titles.append(record.title_es)
        found: list[str] = []
        for title in titles:
            words = tuple(tokenize(_UNSPECIFIED.sub("", title)))
            found.extend(self.by_reading.get(words, ()))
        return list(dict.fromkeys(found))[: self.per_code]

    def generate(self, records: Sequence[CodeRecord], rng: random.Random) -> Iterator[Example]:
        """Up to ``variants_per_code`` lay terms per record, in the lexicon's order."""
        for record in records:
            for term in self.lay_terms(record):
                yield Example(term, record.code, "es", SOURCE, "lay_term")


def _is_plain_episode(rendering: SpanishRendering) -> bool:
    """True when the 7th character is the plain A/D/S episode (not fetus, eye, stage)."""
    episode = rendering.episode or ""
    return episode.startswith(("contacto inicial", "contacto sucesivo", "secuela"))


@dataclass(frozen=True)
class LayTerm:
    """A Spanish lay term and the code a coder would give it."""

    term: str
    code: str
    note: str


def read_lay_terms(path: Path = LAY_TERMS_PATH) -> list[LayTerm]:
    """Read the lay-term TSV (header ``lay_term, code, note``).

    Raises:
        ValueError: wrong header or a row without term or code.

    Example: ``read_lay_terms()[0].term == "ataque al corazón"``
    """
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    if not rows or tuple(rows[0]) != _LAY_HEADER:
        raise ValueError(f"{path}: expected header {'<TAB>'.join(_LAY_HEADER)}")
    terms = []
    for number, row in enumerate(rows[1:], 2):
        if len(row) != 3 or not row[0].strip() or not row[1].strip():
            raise ValueError(f"{path}:{number}: expected lay_term, code, note")
        terms.append(LayTerm(row[0].strip(), row[1].strip(), row[2].strip()))
    return terms


@register_generator("lay_terms")
class LayTermGenerator:
    """Curated lay terms for the codes among ``records``."""

    name = "lay_terms"

    def __init__(self, context: GeneratorContext) -> None:
        self.terms = read_lay_terms(context.lay_terms)

    def codes(self) -> list[str]:
        """Codes the table names (the builder adds them to its selection)."""
        return sorted({t.code for t in self.terms})

    def generate(self, records: Sequence[CodeRecord], rng: random.Random) -> Iterator[Example]:
        """One example per lay term whose code is in ``records`` (``rng`` is unused)."""
        wanted = {r.code for r in records}
        for term in self.terms:
            if term.code in wanted:
                yield Example(term.term, term.code, "es", SOURCE, "lay_term")

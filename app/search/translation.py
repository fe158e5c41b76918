"""Spanish query words in the English of the ICD-10-CM titles, for lexical matching.

Nine codes in ten have only an English title of their own (the official CIE-10-ES tables
cannot be had), and those titles carry site, laterality and episode: "fractura de húmero
proximal derecho" must also be looked for as "fracture humerus proximal right". The word
lexicon ``resources/translation_es_en.tsv`` is *learned* (IBM Model 1 over WHO Spanish titles
and CodiEsp train mentions against the English titles of the same codes; see
``training.translation_lexicon`` and its data card); each Spanish word maps to its most
probable English words (at most two). The translated query (``Query.translated``) is one
word group per query word, alternatives joined by ``|`` ("fracture humerus proximal|upper|end
right"); BM25 searches it as well as the query itself, asking first for documents with a
word of every group. Words without a translation (English words, numbers, cognates the
titles already share) are kept as typed, and a Spanish word that English titles also use
("proximal", "renal") is kept beside its translations.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from app.search.query import STOP_WORDS

__all__ = ["DEFAULT_PATH", "Cognates", "Translator", "stem"]

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "resources" / "translation_es_en.tsv"
#: Spelling correspondences of medical cognates, English side ("ph" -> "f": "psychotic" and
#: "psicotico" meet at "psicotic").
ENGLISH_SPELLING = (("ph", "f"), ("th", "t"), ("rh", "r"), ("ch", "c"), ("y", "i"), ("k", "c"),
                    ("tion", "cion"), ("ae", "e"), ("oe", "e"), ("sc", "c"))
#: The same, Spanish side.
SPANISH_SPELLING = (("qu", "c"), ("z", "c"), ("ll", "l"), ("sc", "c"))
#: Spanish endings and the English endings of their cognates ("-ico" -> "-ic", "-oso" ->
#: "-ous", "-idad" -> "-ity"); the last ones only drop number and gender.
COGNATE_ENDINGS = (
    ("icos", "ic"), ("icas", "ic"), ("ico", "ic"), ("ica", "ic"), ("osos", "ous"),
    ("osas", "ous"), ("oso", "ous"), ("osa", "ous"), ("ivos", "ive"), ("ivas", "ive"),
    ("ivo", "ive"), ("iva", "ive"), ("ados", "ated"), ("adas", "ated"), ("ado", "ated"),
    ("ada", "ated"), ("idad", "ity"), ("dad", "ty"), ("ismo", "ism"), ("ista", "ist"),
    ("ente", "ent"), ("ancia", "ance"), ("encia", "ence"), ("aje", "age"), ("ario", "ary"),
    ("aria", "ary"), ("orio", "ory"), ("oria", "ory"), ("oides", "oid"), ("oide", "oid"),
    ("ina", "in"), ("ias", "y"), ("ia", "y"), ("ales", "al"), ("ares", "ar"),
    ("iones", "ion"), ("os", ""), ("as", ""), ("es", ""), ("o", ""), ("a", ""), ("e", ""),
    ("s", ""),
)

_HEADER = ("spanish", "english", "probability", "count", "keep", "source")


class Translator:
    """Word-by-word Spanish -> English over folded words.

    Example: ``Translator({"fractura": "fracture"}).translate(["fractura", "s72"])`` is
    ``["fracture", "s72"]``
    """

    def __init__(
        self,
        words: Mapping[str, str | Sequence[str]],
        keep: Iterable[str] = (),
        counts: Mapping[str, int] | None = None,
    ) -> None:
        self.words: dict[str, tuple[str, ...]] = {
            s: (e,) if isinstance(e, str) else tuple(e) for s, e in words.items()
        }
        self.keep = frozenset(keep)
        self.counts = dict(counts or {})
        # Another number or gender of a known word ("hombros", "psicotica") reads as the
        # known word with the same stem that was seen most.
        self.stems: dict[str, str] = {}
        for word in sorted(self.words, key=lambda w: (-self.counts.get(w, 0), w)):
            self.stems.setdefault(stem(word), word)
        self.cognates: Cognates | None = None
        self.catalog_words: Container[str] = frozenset()
        self.english_words: Container[str] = frozenset()

    def with_catalog(
        self, catalog_words: Mapping[str, int], spanish_words: Container[str]
    ) -> Translator:
        """This lexicon for one catalog (its words with their document counts, and which
        of them its Spanish texts use): a word that neither the lexicon nor the catalog
        knows is read as its cognate among the catalog's words, English ones first
        (:class:`Cognates`: "espondilodiscitis" -> "spondylodiscitis"), and an English
        word of the catalog is never taken for another number or gender of a Spanish one
        (:meth:`lookup`)."""
        copy = Translator({}, self.keep)
        copy.words, copy.counts, copy.stems = self.words, self.counts, self.stems
        english = frozenset(w for w in catalog_words if w not in spanish_words)
        priority = max(catalog_words.values(), default=0) + 1
        copy.cognates = Cognates(
            {w: n + priority * (w in english) for w, n in catalog_words.items()}
        )
        copy.catalog_words, copy.english_words = catalog_words, english
        return copy

    def __len__(self) -> int:
        return len(self.words)

    @classmethod
    def from_tsv(cls, path: Path) -> Translator:
        """Read ``spanish, english, probability, count, keep, source`` rows: each Spanish
        word's English words, most probable first (``source``: ``ibm1`` for the learned
        ones, ``cognate`` for a word's spelling twin); ``keep`` = 1 marks a Spanish word
        that English titles also use.

        Raises:
            ValueError: a wrong header or a short row (file name and line number).
        """
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        if not lines or tuple(lines[0].split("\t")) != _HEADER:
            raise ValueError(f"{Path(path).name}:1: expected header {chr(9).join(_HEADER)!r}")
        words: dict[str, list[str]] = {}
        counts: dict[str, int] = {}
        keep: set[str] = set()
        for number, line in enumerate(lines[1:], start=2):
            fields = line.split("\t")
            if len(fields) != len(_HEADER) or not fields[0] or not fields[1]:
                raise ValueError(f"{Path(path).name}:{number}: expected {len(_HEADER)} columns")
            words.setdefault(fields[0], []).append(fields[1])
            counts[fields[0]] = max(counts.get(fields[0], 0), int(fields[3] or 0))
            if fields[4] == "1":
                keep.add(fields[0])
        return cls(words, keep, counts)

    @classmethod
    def default(cls) -> Translator:
        """The bundled lexicon (loaded once); empty when the file is absent."""
        return _default()

    def translate(self, tokens: Sequence[str]) -> list[str] | None:
        """One word group per token: a known Spanish word (or another number or gender of
        one, see :meth:`lookup`) becomes its English words joined by ``|`` (a ``keep`` word
        first itself), a word nobody knows its English cognate (after :meth:`with_catalog`),
        any other token stays; None when no token is translated.

        Example: ``translator.translate(["contacto", "renal", "s72"])`` is
        ``["contact|encounter", "renal|kidney", "s72"]``
        """
        known = [self.lookup(t) for t in tokens]
        cognates = [None if word else self._cognate(t) for t, word in zip(tokens, known,
                                                                          strict=True)]
        if not any(known) and not any(cognates):
            return None
        out: list[str] = []
        for token, word, cognate in zip(tokens, known, cognates, strict=True):
            english = self.words.get(word) if word else None
            if english is None:
                out.append(cognate or token)
            else:
                group = ((word,) if word in self.keep else ()) + english
                out.append("|".join(dict.fromkeys(group)))
        return out

    def _cognate(self, token: str) -> str | None:
        if (
            self.cognates is None
            or len(token) < 5
            or not token.isalpha()
            or token in STOP_WORDS
            or token in self.catalog_words
        ):
            return None
        found = self.cognates.find(token)
        return found if found != token else None

    def lookup(self, token: str) -> str | None:
        """The lexicon's word for a token: itself, or else the known word of its stem
        (:func:`stem`); None for a token the lexicon cannot read.

        Example: ``Translator({"hombro": "shoulder"}).lookup("hombros") == "hombro"``
        """
        if token in self.words:
            return token
        if len(token) < 4 or token.isdigit() or token in self.english_words:
            return None
        return self.stems.get(stem(token))


def stem(word: str) -> str:
    """A Spanish word without its number and gender endings: "hombros", "hombro" ->
    "hombr"; "lesiones", "lesion" -> "lesion"; "psicoticas" -> "psicotic"; "fracture"
    stays.

    Example: ``stem("seminales") == stem("seminal")``
    """
    if len(word) > 5 and word.endswith("es") and word[-3] not in "aeiou":
        word = word[:-2]
    elif len(word) > 4 and word.endswith("s"):
        word = word[:-1]
    if len(word) > 4 and word[-1] in "ao":
        word = word[:-1]
    return word


def _spell(word: str, rules: Sequence[tuple[str, str]]) -> str:
    for before, after in rules:
        word = word.replace(before, after)
    return re.sub(r"(.)\1+", r"\1", word)


class Cognates:
    """Spanish words read as the English title word they are spelled like.

    Both sides are reduced to a common spelling (:data:`ENGLISH_SPELLING`,
    :data:`SPANISH_SPELLING`, doubled letters single) and the Spanish endings rewritten to
    English ones (:data:`COGNATE_ENDINGS`); a Spanish word whose reduced form is exactly that
    of an English title word of 4+ letters (without a plural or final e) is its cognate:
    "psicotica" -> "psychotic", "pionefrosis" -> "pyonephrosis", "toracico" -> "thoracic".
    Near misses are not taken (they are as often other words: "cerrada" / "created").

    Example: ``Cognates({"thoracic": 3}).find("toracicos") == "thoracic"``
    """

    def __init__(self, english: dict[str, int]) -> None:
        self.index: dict[str, str] = {}
        for word, _docs in sorted(english.items(), key=lambda kv: (-kv[1], kv[0])):
            if len(word) < 4 or not word.isalpha() or word in STOP_WORDS:
                continue
            spelled = _spell(word, ENGLISH_SPELLING)
            for end in ("", "es", "s", "e"):
                if spelled.endswith(end) and len(spelled) - len(end) >= 4:
                    self.index.setdefault(spelled[: len(spelled) - len(end)], word)

    def find(self, spanish: str) -> str | None:
        """The English cognate of a folded Spanish word, or None."""
        forms = [spanish]
        if re.match(r"es[bcdfgklmnpqrstvz]", spanish):  # "espondilitis" -> "spondylitis"
            forms.append(spanish[1:])
        for form in forms:
            for ending, english_ending in (("", ""), *COGNATE_ENDINGS):
                if form.endswith(ending) and len(form) - len(ending) >= 3:
                    base = form[: len(form) - len(ending)] if ending else form
                    found = self.index.get(_spell(base + english_ending, SPANISH_SPELLING))
                    if found is not None:
                        return found
        return None


@lru_cache(maxsize=1)
def _default() -> Translator:
    return Translator.from_tsv(DEFAULT_PATH) if DEFAULT_PATH.is_file() else Translator({})

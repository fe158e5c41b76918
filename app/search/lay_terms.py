"""Everyday Spanish for clinical terms: "culebrilla" is herpes zóster, "almorranas" are
hemorrhoids, "ardor de estómago" is pyrosis.

The curated lexicon lives in ``resources/lay_terms.tsv`` (UTF-8, tab separated, header
``lay_term<TAB>clinical_terms<TAB>note``). ``clinical_terms`` holds one or more clinical terms
separated by ``|``, the usual reading first; a lay term with several clinical readings
(``constipado``: a cold in Spain, constipation in much of Latin America) keeps them all. Every
clinical term is a phrase that occurs in the catalog's titles (Spanish or English), inclusion
terms or aliases (a test checks it), so that the lexical retrievers can find it.

Matching works on content words (:func:`app.search.query.content_tokens` folding: case,
accents, no stop words), so "piedras en el riñón", "piedras en el rinon" and "piedras riñón"
are the same lay term. Longer lay terms win over the shorter ones they contain.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.search.abbreviations import AbbreviationFileError
from app.search.normalize import tokenize
from app.search.query import STOP_WORDS

__all__ = [
    "DEFAULT_PATH",
    "LayFileError",
    "LayLexicon",
    "LayMatch",
    "LayTerm",
    "content_words",
]

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "resources" / "lay_terms.tsv"

_HEADER = ("lay_term", "clinical_terms", "note")
_SEPARATOR = "|"


def content_words(text: str) -> tuple[str, ...]:
    """Folded words of ``text`` without stop words (repeats kept, order kept).

    Example: ``content_words("Piedras en el riñón") == ("piedras", "rinon")``
    """
    return tuple(t for t in tokenize(text) if t not in STOP_WORDS)


class LayFileError(AbbreviationFileError):
    """A malformed line in a lay-term TSV file (``file:line: message``), reported as the
    abbreviation table's are."""


@dataclass(frozen=True)
class LayTerm:
    """One lay term with its clinical readings, usual reading first.

    Example: ``LayTerm("culebrilla", ("herpes zóster",), "")``
    """

    term: str
    clinical: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class LayMatch:
    """A lay term found in a query.

    ``start``/``end`` index the query's folded word list (``app.search.normalize.tokenize``),
    end exclusive; ``text`` is those words joined.

    Example: ``LayMatch("almorranas", 0, 1, LayTerm("almorranas", ("hemorroides",), ""))``
    """

    text: str
    start: int
    end: int
    term: LayTerm

    @property
    def clinical(self) -> tuple[str, ...]:
        """The clinical readings, usual first."""
        return self.term.clinical

    def to_dict(self) -> dict:
        """JSON-ready form (stable keys): the lay term and its clinical readings."""
        return {"term": self.term.term, "clinical": list(self.term.clinical)}


class LayLexicon:
    """Lay terms indexed by their content words.

    Example: ``LayLexicon.default().find(tokenize("ardor de estómago"))[0].clinical[0]``
    is ``"pirosis"``
    """

    def __init__(self, entries: Iterable[LayTerm]) -> None:
        """Index ``entries``; raises ``ValueError`` on a duplicate or a term without words."""
        self._entries: dict[tuple[str, ...], LayTerm] = {}
        for entry in entries:
            key = content_words(entry.term)
            if not key:
                raise ValueError(f"lay term {entry.term!r} has no content word")
            if key in self._entries:
                raise ValueError(f"duplicate lay term {entry.term!r}")
            if not entry.clinical:
                raise ValueError(f"lay term {entry.term!r} has no clinical term")
            self._entries[key] = entry
        self.longest = max((len(k) for k in self._entries), default=0)

    @classmethod
    def from_tsv(cls, path: Path) -> LayLexicon:
        """Load a TSV file with header ``lay_term, clinical_terms, note``.

        Raises :class:`LayFileError` (file name and line number) on a wrong header, a wrong
        column count, an empty term or clinical term, or a duplicate lay term (same content
        words).

        Example: ``LayLexicon.from_tsv(Path("resources/lay_terms.tsv"))``
        """
        path = Path(path)
        try:
            lines = path.read_text(encoding="utf-8-sig").splitlines()
        except UnicodeDecodeError as exc:
            raise LayFileError(path, 0, f"not valid UTF-8 ({exc.reason})") from exc
        if not lines or tuple(f.strip() for f in lines[0].split("\t")) != _HEADER:
            raise LayFileError(path, 1, f"expected header {chr(9).join(_HEADER)!r}")
        entries: list[LayTerm] = []
        first: dict[tuple[str, ...], int] = {}
        for number, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) != len(_HEADER):
                raise LayFileError(
                    path,
                    number,
                    f"expected {len(_HEADER)} tab-separated columns, got {len(fields)}",
                )
            term, clinical, note = (f.strip() for f in fields)
            key = content_words(term)
            if not key:
                raise LayFileError(path, number, f"lay term {term!r} has no content word")
            readings = tuple(part.strip() for part in clinical.split(_SEPARATOR))
            if not all(readings):
                raise LayFileError(path, number, f"empty clinical term for {term!r}")
            if key in first:
                raise LayFileError(
                    path, number, f"duplicate lay term {term!r} (first on line {first[key]})"
                )
            first[key] = number
            entries.append(LayTerm(term, readings, note))
        return cls(entries)

    @classmethod
    def default(cls) -> LayLexicon:
        """The bundled ``resources/lay_terms.tsv`` (loaded once).

        Example: ``len(LayLexicon.default()) >= 300``
        """
        return _default()

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[LayTerm]:
        return iter(self._entries.values())

    def get(self, term: str) -> LayTerm | None:
        """The entry of a lay term, ignoring case, accents and stop words."""
        return self._entries.get(content_words(term))

    def words(self) -> set[str]:
        """Every folded word of the lay terms and their clinical readings."""
        out: set[str] = set()
        for entry in self._entries.values():
            out.update(tokenize(entry.term))
            for reading in entry.clinical:
                out.update(tokenize(reading))
        return out

    def find(self, tokens: Sequence[str]) -> list[LayMatch]:
        """Lay terms in a folded word list, longest first at each place, not overlapping.

        Stop words inside the text are skipped ("piedras en el riñón" matches the entry
        "piedras riñón"); a match spans from its first to its last content word.

        Example: ``[m.text for m in lexicon.find(["tengo", "almorranas"])] == ["almorranas"]``
        """
        positions = [i for i, t in enumerate(tokens) if t not in STOP_WORDS]
        words = [tokens[i] for i in positions]
        found: list[LayMatch] = []
        i = 0
        while i < len(words):
            for size in range(min(self.longest, len(words) - i), 0, -1):
                entry = self._entries.get(tuple(words[i : i + size]))
                if entry is not None:
                    start, end = positions[i], positions[i + size - 1] + 1
                    found.append(LayMatch(" ".join(tokens[start:end]), start, end, entry))
                    i += size
                    break
            else:
                i += 1
        return found


@lru_cache(maxsize=1)
def _default() -> LayLexicon:
    return LayLexicon.from_tsv(DEFAULT_PATH)

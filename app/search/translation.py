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

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

__all__ = ["DEFAULT_PATH", "Translator"]

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "resources" / "translation_es_en.tsv"
_HEADER = ("spanish", "english", "probability", "count", "keep")


class Translator:
    """Word-by-word Spanish -> English over folded words.

    Example: ``Translator({"fractura": "fracture"}).translate(["fractura", "s72"])`` is
    ``["fracture", "s72"]``
    """

    def __init__(
        self, words: Mapping[str, str | Sequence[str]], keep: Iterable[str] = ()
    ) -> None:
        self.words: dict[str, tuple[str, ...]] = {
            s: (e,) if isinstance(e, str) else tuple(e) for s, e in words.items()
        }
        self.keep = frozenset(keep)

    def __len__(self) -> int:
        return len(self.words)

    @classmethod
    def from_tsv(cls, path: Path) -> Translator:
        """Read ``spanish, english, probability, count, keep`` rows: each Spanish word's
        English words, most probable first; ``keep`` = 1 marks a Spanish word that English
        titles also use.

        Raises:
            ValueError: a wrong header or a short row (file name and line number).
        """
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        if not lines or tuple(lines[0].split("\t")) != _HEADER:
            raise ValueError(f"{Path(path).name}:1: expected header {chr(9).join(_HEADER)!r}")
        words: dict[str, list[str]] = {}
        keep: set[str] = set()
        for number, line in enumerate(lines[1:], start=2):
            fields = line.split("\t")
            if len(fields) != len(_HEADER) or not fields[0] or not fields[1]:
                raise ValueError(f"{Path(path).name}:{number}: expected {len(_HEADER)} columns")
            words.setdefault(fields[0], []).append(fields[1])
            if fields[4] == "1":
                keep.add(fields[0])
        return cls(words, keep)

    @classmethod
    def default(cls) -> Translator:
        """The bundled lexicon (loaded once); empty when the file is absent."""
        return _default()

    def translate(self, tokens: Sequence[str]) -> list[str] | None:
        """One word group per token: a known Spanish word becomes its English words joined
        by ``|`` (a ``keep`` word first itself), any other token stays; None when no token
        is known.

        Example: ``translator.translate(["contacto", "renal", "s72"])`` is
        ``["contact|encounter", "renal|kidney", "s72"]``
        """
        if not any(t in self.words for t in tokens):
            return None
        out: list[str] = []
        for token in tokens:
            english = self.words.get(token)
            if english is None:
                out.append(token)
            else:
                group = ((token,) if token in self.keep else ()) + english
                out.append("|".join(dict.fromkeys(group)))
        return out


@lru_cache(maxsize=1)
def _default() -> Translator:
    return Translator.from_tsv(DEFAULT_PATH) if DEFAULT_PATH.is_file() else Translator({})

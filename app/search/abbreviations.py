"""Spanish clinical abbreviations and their expansion in queries.

The curated list lives in ``resources/abbreviations.tsv`` (UTF-8, tab separated, header
``abbreviation<TAB>expansion<TAB>note``). Ambiguous abbreviations carry several expansions
separated by ``|``, the most frequent diagnostic sense first; :meth:`AbbreviationTable.expand`
always uses that first sense.

Matching works on whole tokens (runs of letters and digits, so ``DM2`` and ``ACxFA`` are one
token; dotted acronyms such as ``H.T.A`` are read as ``HTA``) and folds case and accents the
way :mod:`app.search.normalize` does. Three case rules keep ordinary words from being read as
abbreviations:

1. Spanish function words (``a``, ``con``, ``de``, ``es``, ``ir``, ``la``, ...) are never
   expanded, whatever the table says and however they are written.
2. An abbreviation that is also a common Spanish word or unit (``LES``/``les``, ``PAN``/``pan``,
   ``TEA``/``tea``, ``RPM``/``rpm``) is expanded only when the token is written all in upper case.
3. A token written all in lower case matches an abbreviation of at most two characters only
   when the table itself spells that abbreviation with lower-case letters (``Ca``, ``Fx``,
   ``Sd``): ``IC`` is expanded, ``ic`` is not, ``ca de mama`` is.

A plural written as an upper-case abbreviation plus ``s`` (``ITUs``, ``AITs``) matches the
singular entry. ``Ca`` followed by a number (``CA 125``, ``Ca 9,2``) is a tumour marker or a lab
value and is left alone.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from app.search.normalize import tokenize

__all__ = [
    "DEFAULT_PATH",
    "Abbreviation",
    "AbbreviationFileError",
    "AbbreviationTable",
    "Expansion",
]

logger = logging.getLogger(__name__)

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "resources" / "abbreviations.tsv"

_HEADER = ("abbreviation", "expansion", "note")
_EXPANSION_SEPARATOR = "|"

# A dotted acronym ("H.T.A", "I.A.M") not glued to a following word, or else a run of letters
# and digits. Offsets refer to the original string; the dotted form excludes a trailing dot so
# that a sentence-final period survives expansion.
_TOKEN_RE = re.compile(r"[^\W\d_](?:\.[^\W\d_])+(?![^\W_])|[^\W_]+")


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Function words that are never abbreviations, in folded form.
_NEVER_EXPANDED = _word_set(
    """
    a al ante bajo con contra de del desde e el ella ellas ellos en entre es esa ese eso esta
    este esto fue ha han hay he hubo ir la las le lo los me mi mis muy ni no nos o os para
    pero por que se ser si sin sobre son su sus te tras tu u un una uno unos unas y ya yo
    """
)

# Common Spanish words and units (folded) that clash with abbreviations: expanded only when the
# token is written all in upper case ("28 rpm" is a breathing rate, "RPM" a ruptured membrane).
_COMMON_WORDS = _word_set(
    """
    ala ama ano app asa aun cae cal cama cia da dan dar den di dia dio don dos era eres fa fe
    fin gas hic ira les ley lpm luz mal mar mas mes mia mio oi ojo ola oro pan paz pie ppm pus
    rey rpm sal sea sol tal tan tea toc tos tres tus uso vas ver vez via vio voz
    """
)

# Abbreviations that, directly followed by a number, name a lab value or tumour marker rather
# than a diagnosis ("CA 125", "CA 19-9", "Ca 9,2 mg/dl").
_NOT_BEFORE_NUMBER = frozenset({"ca"})
_NUMBER_AHEAD_RE = re.compile(r"[\s-]*\d")


class AbbreviationFileError(ValueError):
    """A malformed line in an abbreviation TSV file.

    Example: ``AbbreviationFileError(Path("a.tsv"), 3, "empty expansion")`` reads
    ``a.tsv:3: empty expansion``.
    """

    def __init__(self, path: Path, line: int, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        super().__init__(f"{path.name}:{line}: {message}")


@dataclass(frozen=True)
class Abbreviation:
    """One abbreviation with its expansions, most frequent diagnostic sense first.

    Example: ``Abbreviation("HTA", ("hipertensión arterial",), "")``
    """

    abbreviation: str
    expansions: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class Expansion:
    """An abbreviation found in a text; ``start``/``end`` index the original string.

    Example: ``Expansion("IAM", 0, 3, ("infarto agudo de miocardio",))``
    """

    token: str
    start: int
    end: int
    expansions: tuple[str, ...]


def _key(text: str) -> str:
    """Fold an abbreviation or token to its look-up key (case, accents, dots dropped).

    Example: ``_key("H.T.A") == "hta"``
    """
    return "".join(tokenize(text))


def _letters(text: str) -> list[str]:
    return [ch for ch in text if ch.isalpha()]


def _is_upper(text: str) -> bool:
    letters = _letters(text)
    return bool(letters) and all(ch.isupper() for ch in letters)


def _is_lower(text: str) -> bool:
    letters = _letters(text)
    return bool(letters) and all(ch.islower() for ch in letters)


class AbbreviationTable:
    """A look-up table of clinical abbreviations keyed by their folded form.

    Example: ``AbbreviationTable.default().expand("IAM inferior")``
    """

    def __init__(self, entries: Iterable[Abbreviation]) -> None:
        """Index ``entries``; raises ``ValueError`` on a duplicate or an empty abbreviation.

        Example: ``AbbreviationTable([Abbreviation("HTA", ("hipertensión arterial",), "")])``
        """
        self._entries: dict[str, Abbreviation] = {}
        for entry in entries:
            key = _key(entry.abbreviation)
            if not key:
                raise ValueError(f"abbreviation {entry.abbreviation!r} has no letters or digits")
            if key in self._entries:
                raise ValueError(f"duplicate abbreviation {entry.abbreviation!r}")
            if not entry.expansions:
                raise ValueError(f"abbreviation {entry.abbreviation!r} has no expansion")
            if key in _NEVER_EXPANDED:
                logger.warning(
                    "abbreviation %r is a Spanish function word and will never be expanded",
                    entry.abbreviation,
                )
            self._entries[key] = entry

    @classmethod
    def from_tsv(cls, path: Path) -> AbbreviationTable:
        """Load a TSV file with header ``abbreviation, expansion, note``.

        Blank lines are skipped. Raises :class:`AbbreviationFileError` (file name and line
        number) on a wrong header, a wrong column count, an empty abbreviation or expansion,
        an expansion equal to its abbreviation or a duplicate abbreviation (folded case and
        accents).

        Example: ``AbbreviationTable.from_tsv(Path("resources/abbreviations.tsv"))``
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise AbbreviationFileError(path, 0, f"not valid UTF-8 ({exc.reason})") from exc

        lines = text.splitlines()
        if not lines or tuple(field.strip() for field in lines[0].split("\t")) != _HEADER:
            raise AbbreviationFileError(
                path, 1, f"expected header {chr(9).join(_HEADER)!r} (tab separated)"
            )

        entries: list[Abbreviation] = []
        first_line: dict[str, int] = {}
        for number, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) != len(_HEADER):
                raise AbbreviationFileError(
                    path,
                    number,
                    f"expected {len(_HEADER)} tab-separated columns, got {len(fields)}",
                )
            abbreviation, expansion, note = (field.strip() for field in fields)
            if not abbreviation:
                raise AbbreviationFileError(path, number, "empty abbreviation")
            if any(ch.isspace() for ch in abbreviation):
                raise AbbreviationFileError(
                    path, number, f"abbreviation {abbreviation!r} contains whitespace"
                )
            key = _key(abbreviation)
            if not key:
                raise AbbreviationFileError(
                    path, number, f"abbreviation {abbreviation!r} has no letters or digits"
                )
            if not expansion:
                raise AbbreviationFileError(path, number, f"empty expansion for {abbreviation!r}")
            senses = tuple(part.strip() for part in expansion.split(_EXPANSION_SEPARATOR))
            if not all(senses):
                raise AbbreviationFileError(
                    path, number, f"empty sense in expansion {expansion!r} of {abbreviation!r}"
                )
            if any(_key(sense) == key for sense in senses):
                raise AbbreviationFileError(
                    path, number, f"expansion of {abbreviation!r} repeats the abbreviation"
                )
            if key in first_line:
                raise AbbreviationFileError(
                    path,
                    number,
                    f"duplicate abbreviation {abbreviation!r} (first on line {first_line[key]})",
                )
            first_line[key] = number
            entries.append(Abbreviation(abbreviation, senses, note))

        logger.debug("loaded %d abbreviations from %s", len(entries), path)
        return cls(entries)

    @classmethod
    def default(cls) -> AbbreviationTable:
        """Load the bundled ``resources/abbreviations.tsv``.

        Example: ``"IAM" in AbbreviationTable.default()``
        """
        return cls.from_tsv(DEFAULT_PATH)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Abbreviation]:
        return iter(self._entries.values())

    def __contains__(self, abbreviation: object) -> bool:
        return isinstance(abbreviation, str) and _key(abbreviation) in self._entries

    def get(self, abbreviation: str) -> Abbreviation | None:
        """Look up an abbreviation, ignoring case, accents and dots.

        Example: ``table.get("dm2").expansions[0] == "diabetes mellitus tipo 2"``
        """
        return self._entries.get(_key(abbreviation))

    def _match(self, token: str) -> Abbreviation | None:
        """Return the entry a token stands for under the case rules, or ``None``."""
        key = _key(token)
        if not key or key in _NEVER_EXPANDED:
            return None
        entry = self._entries.get(key)
        written = token
        if entry is None:
            # Plural of an upper-case abbreviation: "ITUs", "AITs".
            body = token[:-1]
            if token.endswith("s") and len(_key(body)) >= 2 and _is_upper(body):
                entry = self._entries.get(_key(body))
                written = body
            if entry is None:
                return None
            key = _key(body)
        if key in _COMMON_WORDS and not _is_upper(written):
            return None
        if (
            len(key) <= 2
            and _is_lower(written)
            and not any(ch.islower() for ch in entry.abbreviation)
        ):
            return None
        return entry

    def find(self, text: str) -> list[Expansion]:
        """Find abbreviation tokens in free text, in order of appearance.

        Example: ``[e.token for e in table.find("DM2 con IAM")] == ["DM2", "IAM"]``
        """
        found: list[Expansion] = []
        for match in _TOKEN_RE.finditer(text):
            entry = self._match(match.group())
            if entry is None:
                continue
            if _key(entry.abbreviation) in _NOT_BEFORE_NUMBER and _NUMBER_AHEAD_RE.match(
                text, match.end()
            ):
                continue
            found.append(Expansion(match.group(), match.start(), match.end(), entry.expansions))
        return found

    def expand(self, text: str) -> str:
        """Replace each abbreviation in ``text`` with its first expansion.

        Example: ``table.expand("IAM inferior") == "infarto agudo de miocardio inferior"``
        """
        parts: list[str] = []
        position = 0
        for found in self.find(text):
            parts.append(text[position : found.start])
            parts.append(found.expansions[0])
            position = found.end
        parts.append(text[position:])
        return "".join(parts)

"""The spotter's resources: a lexicon of diagnostic phrases and word statistics.

The lexicon comes from the catalog the runtime already has: the aliases (coded mentions:
CodiEsp train in the evaluation catalog, train + dev in the shipped one) and the Spanish
titles, with short forms of each title (before its first comma, without brackets or a
trailing "no especificado"). Titles of chapters, blocks and "Otros ..." residual codes are
left out.

The statistics (:data:`STATS_FILE`, generated from CodiEsp **train** only by
``python -m training.document_lexicon``; columns in ``resources/document/README.md``) say,
for each lexicon phrase, how often it occurs in the train case texts and how often a gold
mention is exactly it or overlaps it; for each word, how often it occurs, begins a gold
mention and lies inside one; and for each word that follows a gold-mention word, how often
the mention goes on over it. The spotter uses them to drop phrases that are seldom mentions
("consulta", a title, almost never is one), to extend a match over the words a mention goes
on with ("dolor" + "en fosa renal derecha") and, optionally, to start mentions at head words
("síndrome").
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from app.catalog.store import CatalogStore
from app.errors import CieloError
from app.paths import resources_dir
from app.search.normalize import normalize_text
from app.search.query import STOP_WORDS

#: The statistics file, relative to the resources folder.
STATS_FILE = Path("document") / "spotter_stats.tsv"
STATS_HEADER = ("kind", "norm", "seen", "exact", "covered")
#: Row kinds and the :class:`SpotterStats` table each fills.
KINDS = {"phrase": "phrases", "word": "words", "next": "following"}

#: Longest lexicon phrase kept, in words.
MAX_ENTRY_WORDS = 10

_BRACKETS_RE = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_UNSPECIFIED_RE = re.compile(
    r"\s*,?\s*\b(?:no especificad[oa]s?|sin otra especificaci[oó]n|no clasificad[oa]s? en otra"
    r" parte|de sitio no especificado|de cualquier sitio|inespec[ií]fic[oa]s?)\b.*$",
    re.IGNORECASE,
)
_RESIDUAL_RE = re.compile(r"^(?:otr[oa]s?|los dem[aá]s|las dem[aá]s)\b", re.IGNORECASE)


class StatsFileError(CieloError):
    """The spotter statistics file is missing a column or holds a bad number."""


def title_forms(title: str) -> list[str]:
    """Normalised lexicon forms of a Spanish title (empty for a residual "Otros ..." title).

    Example: ``title_forms("Neumonía, no especificada")`` is ``["neumonia no especificada",
    "neumonia"]``
    """
    if _RESIDUAL_RE.match(title.strip()):
        return []
    forms = [title, _BRACKETS_RE.sub(" ", title)]
    forms.append(forms[-1].split(",")[0])
    forms.append(_UNSPECIFIED_RE.sub("", forms[-2]))
    out = dict.fromkeys(normalize_text(f) for f in forms)
    return [f for f in out if f and len(f.split()) <= MAX_ENTRY_WORDS]


def is_content(norm: str) -> bool:
    """True when a normalised phrase holds a word of 3+ letters that is not a stop word.

    Example: ``is_content("de la") is False`` and ``is_content("hta") is True``
    """
    return any(
        len(word) >= 3 and word not in STOP_WORDS and not word.isdigit() for word in norm.split()
    )


@dataclass
class Lexicon:
    """Normalised diagnostic phrases, keyed by their word tuples.

    Attributes:
        entries: word tuple -> origin (``"alias"`` or ``"title"``; alias wins).
        longest: first word -> the longest phrase starting with it, in words.
    """

    entries: dict[tuple[str, ...], str] = field(default_factory=dict)
    longest: dict[str, int] = field(default_factory=dict)

    def add(self, norm: str, origin: str) -> None:
        """Add one normalised phrase (ignored when it has no content word or is too long)."""
        words = tuple(norm.split())
        if not words or len(words) > MAX_ENTRY_WORDS or not is_content(norm):
            return
        if self.entries.get(words) != "alias":
            self.entries[words] = origin
        self.longest[words[0]] = max(self.longest.get(words[0], 0), len(words))

    def __contains__(self, words: object) -> bool:
        return words in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    @classmethod
    def from_store(
        cls,
        store: CatalogStore,
        *,
        aliases: bool = True,
        titles: bool = True,
        alias_sources: tuple[str, ...] | None = None,
    ) -> Lexicon:
        """Read the lexicon from a catalog (two queries; well under a second).

        Args:
            store: the catalog.
            aliases: include the aliases.
            titles: include the Spanish titles (a code's own, not inherited) and their short
                forms.
            alias_sources: restrict aliases to these sources (None: all).

        Example: ``("neumonia",) in Lexicon.from_store(store)``
        """
        lexicon = cls()
        if titles:
            rows = store.query(  # a code's own title (WHO or an imported edition)
                "SELECT title_es FROM codes WHERE title_es IS NOT NULL AND title_es_from = code"
                " AND kind NOT IN ('chapter', 'block')"
            )
            for (title,) in rows:
                for form in title_forms(title):
                    lexicon.add(form, "title")
        if aliases:
            for norm in sorted(store.alias_norms(alias_sources)):
                lexicon.add(norm, "alias")
        return lexicon


@dataclass(frozen=True)
class Counts:
    """How often a phrase or word was seen in the train texts, and how it related to gold.

    For a phrase: ``exact`` = a gold mention was exactly it; ``covered`` = it overlapped one.
    For a word: ``exact`` = it began a gold mention; ``covered`` = it lay inside one.
    """

    seen: int
    exact: int
    covered: int

    def rate(self, exact: bool = False) -> float:
        """``exact / seen`` or ``covered / seen`` (0.0 when never seen)."""
        return (self.exact if exact else self.covered) / self.seen if self.seen else 0.0


@dataclass
class SpotterStats:
    """Phrase and word statistics from CodiEsp train (see the module docstring)."""

    phrases: dict[str, Counts] = field(default_factory=dict)
    words: dict[str, Counts] = field(default_factory=dict)
    following: dict[str, Counts] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> SpotterStats:
        """Read a statistics TSV (header ``kind, norm, seen, exact, covered``).

        Raises:
            StatsFileError: a wrong header, kind or number (file name and line given).

        Example: ``SpotterStats.read(default_stats_path()).words["sindrome"].seen``
        """
        stats = cls()
        try:
            with path.open(encoding="utf-8", newline="") as fh:
                reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
                header = next(reader, None)
                if tuple(header or ()) != STATS_HEADER:
                    raise StatsFileError(f"{path}:1: expected header {'/'.join(STATS_HEADER)}")
                for line, row in enumerate(reader, 2):
                    if len(row) != len(STATS_HEADER) or row[0] not in KINDS:
                        raise StatsFileError(
                            f"{path}:{line}: expected {'|'.join(KINDS)} and 4 fields"
                        )
                    try:
                        counts = Counts(int(row[2]), int(row[3]), int(row[4]))
                    except ValueError as exc:
                        raise StatsFileError(f"{path}:{line}: {exc}") from exc
                    getattr(stats, KINDS[row[0]])[row[1]] = counts
        except OSError as exc:
            raise StatsFileError(f"cannot read {path}: {exc}") from exc
        return stats

    def write(self, path: Path) -> None:
        """Write the statistics, sorted, so a rebuild from the same inputs is byte-identical."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as fh:
            fh.write("\t".join(STATS_HEADER) + "\n")
            for kind, attribute in KINDS.items():
                table = getattr(self, attribute)
                for norm in sorted(table):
                    c = table[norm]
                    fh.write(f"{kind}\t{norm}\t{c.seen}\t{c.exact}\t{c.covered}\n")


def default_stats_path(resources: Path | None = None) -> Path:
    """The bundled statistics file. Example: ``default_stats_path().name``"""
    return (resources or resources_dir()) / STATS_FILE

"""Aliases: mentions that coders have already coded, as searchable names of their codes.

CodiEsp's ``*X.tsv`` files (``articleID, DIAGNOSTICO|PROCEDIMIENTO, code, mention,
offsets``) are the first source. Each distinct normalised mention becomes one alias per
code with its count, so conflicting aliases (one mention, several codes) keep their counts.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from app.codes import format_code, strip_dot
from app.errors import CatalogSourceError
from app.search.normalize import normalize_text


@dataclass(frozen=True)
class Mention:
    """One coded mention of a CodiEsp X file (diagnoses only)."""

    doc_id: str
    code: str
    text: str
    offsets: str
    line: int


@dataclass(frozen=True)
class Alias:
    """A normalised mention that names a code, with how often a source coded it so."""

    code: str
    text: str
    norm: str
    source: str
    count: int
    source_code: str


def read_codiesp_mentions(path: Path, label: str = "DIAGNOSTICO") -> Iterator[Mention]:
    """Yield the mentions of one label from a CodiEsp X-format TSV.

    Raises:
        CatalogSourceError: the file is missing, not UTF-8, or a row has too few columns.

    Example: ``next(read_codiesp_mentions(Path("devX.tsv"))).code == "N44.8"``
    """
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            for line, row in enumerate(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
                if not row or not "".join(row).strip():
                    continue
                if len(row) < 4:
                    raise CatalogSourceError(
                        f"{path}:{line}: expected articleID, label, code, mention[, offsets];"
                        f" found {len(row)} column(s)"
                    )
                if row[1].strip().upper() != label:
                    continue
                offsets = row[4].strip() if len(row) > 4 else ""
                yield Mention(row[0].strip(), format_code(row[2]), row[3].strip(), offsets, line)
    except UnicodeDecodeError as exc:
        raise CatalogSourceError(f"{path}: not UTF-8 ({exc})") from exc
    except OSError as exc:
        raise CatalogSourceError(f"cannot read {path}: {exc}") from exc


def resolve_code(code: str, known: set[str] | dict[str, object]) -> str | None:
    """Map a corpus code onto the catalog: itself, else without trailing placeholder X
    (CodiEsp's ``W19.XXX`` lacks its 7th character), else its nearest existing ancestor.

    Example: ``resolve_code("W19.XXX", {"W19"}) == "W19"``
    """
    if code in known:
        return code
    raw = strip_dot(code)
    stripped = raw.rstrip("X")
    for end in range(len(stripped), 2, -1):
        candidate = format_code(stripped[:end])
        if candidate in known:
            return candidate
    return None


def build_aliases(
    mentions: Iterable[Mention], source: str, known: set[str] | dict[str, object]
) -> tuple[list[Alias], int]:
    """Aggregate mentions into aliases, one per (normalised mention, code).

    The displayed text is the most frequent surface form (ties: alphabetical), so the
    output does not depend on input order. Mentions whose code has no catalog ancestor
    are dropped and counted.

    Returns:
        The aliases sorted by (norm, code) and the number of dropped mentions.

    Example: ``aliases, dropped = build_aliases(mentions, "codiesp-train", codes)``
    """
    counts: Counter[tuple[str, str, str]] = Counter()
    surfaces: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    dropped = 0
    for mention in mentions:
        norm = normalize_text(mention.text)
        target = resolve_code(mention.code, known)
        if not norm or target is None:
            dropped += 1
            continue
        counts[(norm, target, mention.code)] += 1
        surfaces[(norm, target)][mention.text] += 1
    per_alias: Counter[tuple[str, str]] = Counter()
    source_code: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for (norm, target, original), n in counts.items():
        per_alias[(norm, target)] += n
        source_code[(norm, target)][original] += n
    aliases = []
    for norm, target in sorted(per_alias):
        surface = min(surfaces[(norm, target)].items(), key=lambda kv: (-kv[1], kv[0]))[0]
        original = min(source_code[(norm, target)].items(), key=lambda kv: (-kv[1], kv[0]))[0]
        aliases.append(
            Alias(target, surface, norm, source, per_alias[(norm, target)], original)
        )
    return aliases, dropped

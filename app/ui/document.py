"""Document mode data: one reviewable row per mention, decisions, CSV export (no Qt).

The note is patient data: nothing here logs it or writes it anywhere but the CSV file the
coder asked for.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from app.atomic import atomic_text_writer
from app.catalog.store import CodeRecord
from app.document.records import auto_accepted
from app.document.types import CodedMention, DocumentAnalysis, Mention
from app.search.types import SearchResult

#: Columns of the exported CSV, in order.
CSV_COLUMNS = ("start", "end", "mention", "negated", "code", "title_es", "title_en",
               "uncertain")

#: How far before a mention a negation cue is looked for (characters).
CUE_WINDOW = 120


@dataclass
class MentionRow:
    """A mention under review: the chosen code, what the catalog says of it, the decision.

    ``known`` is False for a typed code that is not in the catalog; ``valid`` is the
    catalog's "valid for submission" (billable) flag.
    """

    coded: CodedMention
    code: str | None = None
    title_es: str | None = None
    title_en: str = ""
    known: bool = False
    valid: bool = False
    accepted: bool = False

    @property
    def mention(self) -> Mention:
        """The mention this row reviews."""
        return self.coded.mention

    @property
    def title(self) -> str:
        """The chosen code's Spanish title, else its English one."""
        return self.title_es or self.title_en

    def set_result(self, result: SearchResult) -> None:
        """Choose one of the proposed codes."""
        self.code = result.code
        self.title_es = result.title_es
        self.title_en = result.title_en
        self.known = True
        self.valid = result.valid

    def set_record(self, code: str, record: CodeRecord | None) -> None:
        """Choose a typed code; ``record`` is None when the catalog lacks it."""
        self.code = record.code if record is not None else code
        self.title_es = record.title_es if record is not None else None
        self.title_en = record.title_en if record is not None else ""
        self.known = record is not None
        self.valid = record.valid if record is not None else False

    def alternative(self, code: str) -> SearchResult | None:
        """The proposed result for ``code``, if it is one of the alternatives."""
        return next((r for r in self.coded.results if r.code == code), None)


def initial_rows(analysis: DocumentAnalysis) -> list[MentionRow]:
    """Rows with the default decisions: the best code proposed, accepted only as
    :func:`auto_accepted` says (the coder decides the rest, e.g. picks a full code).

    Example: ``initial_rows(analysis)[0].accepted`` is True for a non-negated mention whose
    best code is valid and confident.
    """
    rows = []
    for coded in analysis.mentions:
        row = MentionRow(coded)
        if coded.results:
            row.set_result(coded.results[0])
        row.accepted = auto_accepted(analysis.text, coded)
        rows.append(row)
    return rows


def _keys(rows: list[MentionRow]) -> list[tuple[str, int]]:
    """(mention text, occurrence number) per row: stable across edits elsewhere in the note."""
    seen: dict[str, int] = {}
    keys = []
    for row in rows:
        text = row.mention.text.casefold()
        seen[text] = seen.get(text, 0) + 1
        keys.append((text, seen[text]))
    return keys


def carry_over(old: list[MentionRow], new: list[MentionRow]) -> int:
    """Keep the coder's decisions for mentions that survive a re-analysis; returns how many.

    A row keeps its old code and decision when the same mention text (same occurrence)
    was there before with the same negation.
    """
    previous = {
        key: row for key, row in zip(_keys(old), old, strict=True)
    }
    kept = 0
    for key, row in zip(_keys(new), new, strict=True):
        before = previous.get(key)
        if before is None or before.mention.negated != row.mention.negated:
            continue
        row.code, row.title_es, row.title_en = before.code, before.title_es, before.title_en
        row.known, row.valid, row.accepted = before.known, before.valid, before.accepted
        kept += 1
    return kept


def find_cue(text: str, mention: Mention) -> tuple[int, int] | None:
    """The span of the negation cue governing ``mention`` (the nearest one before it).

    Example: ``find_cue("No fiebre.", Mention(3, 9, "fiebre", True, "no")) == (0, 2)``
    """
    if not mention.negated or not mention.cue:
        return None
    lo = max(0, mention.start - CUE_WINDOW)
    pattern = re.compile(rf"(?<!\w){re.escape(mention.cue)}(?!\w)", re.IGNORECASE)
    found = [m for m in pattern.finditer(text, lo, mention.start)]
    if not found:
        return None
    return found[-1].start(), found[-1].end()


def export_rows(rows: list[MentionRow]) -> list[tuple[str, ...]]:
    """The CSV records of the accepted rows that carry a catalog code, in text order."""
    out = []
    for row in sorted(rows, key=lambda r: (r.mention.start, r.mention.end)):
        if not (row.accepted and row.code and row.known):
            continue
        m = row.mention
        out.append((str(m.start), str(m.end), m.text, "1" if m.negated else "0", row.code,
                    row.title_es or "", row.title_en, "1" if m.uncertain else "0"))
    return out


def write_csv(path: Path, records: list[tuple[str, ...]]) -> int:
    """Write ``records`` under :data:`CSV_COLUMNS` atomically, UTF-8 with BOM (for Excel).

    The file is written next to ``path`` under a temporary name and then renamed, so a
    failure never leaves a half-written file. Returns the number of records.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(records)
    with atomic_text_writer(Path(path), encoding="utf-8-sig", newline="") as handle:
        handle.write(buffer.getvalue())
    return len(records)

"""Spot inspection: a stratified sample per chapter and language for a human reviewer, as
CSV (to fill in) and HTML (to read), and the reviewer's rejections read back.

The reviewer writes ``reject`` (or ``x``, ``no``) in the CSV's ``verdict`` column, leaving
``ok`` or nothing for the rest, and passes the file to the next run with ``--rejections``:
rejected pairs are dropped, and the rejected mentions are quoted in that code and language's
prompt so the backend writes nothing like them (the changed prompt re-runs those tasks).
"""

from __future__ import annotations

import csv
import hashlib
import html
import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

from app.atomic import atomic_text_writer
from training.data.examples import Example

COLUMNS = ("id", "chapter", "language", "style", "code", "title", "mention", "verdict", "comment")
REJECT = frozenset({"reject", "rejected", "x", "no", "n", "bad"})
ACCEPT = frozenset({"", "ok", "yes", "y", "good", "accept"})


class ReviewError(ValueError):
    """A rejections file that is not a filled-in review sample."""


def row_id(example: Example) -> str:
    """Stable id of a reviewed pair."""
    return hashlib.sha256(f"{example.query}\t{example.code}".encode()).hexdigest()[:12]


def sample(
    examples: Sequence[Example], chapters: Mapping[str, str | None], per_cell: int, seed: int
) -> list[Example]:
    """Up to ``per_cell`` examples per (chapter, language), chosen with ``seed``, sorted by
    chapter, language and code."""
    cells: dict[tuple[str, str], list[Example]] = defaultdict(list)
    for example in examples:
        cells[(chapters.get(example.code) or "?", example.lang)].append(example)
    rng = random.Random(f"{seed}/review")
    chosen = []
    for key in sorted(cells, key=_cell_key):
        pool = cells[key]
        chosen += rng.sample(pool, min(per_cell, len(pool)))
    return sorted(chosen, key=lambda e: (_cell_key((chapters.get(e.code) or "?", e.lang)),
                                         e.code, e.query))  # fmt: skip


def _cell_key(key: tuple[str, str]) -> tuple[int, str, str]:
    chapter, lang = key
    return (int(chapter) if chapter.isdigit() else 99, chapter, lang)


def write_review(
    out_dir: Path,
    chosen: Sequence[Example],
    chapters: Mapping[str, str | None],
    titles: Mapping[str, str],
    heading: str,
) -> tuple[Path, Path]:
    """Write ``sample.csv`` and ``sample.html`` into ``out_dir``; returns both paths."""
    rows = [
        {"id": row_id(e), "chapter": chapters.get(e.code) or "?", "language": e.lang,
         "style": e.style, "code": e.code, "title": titles.get(e.code, ""), "mention": e.query,
         "verdict": "", "comment": ""}
        for e in chosen
    ]  # fmt: skip
    csv_path, html_path = out_dir / "sample.csv", out_dir / "sample.html"
    with atomic_text_writer(csv_path) as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    cells = Counter((r["chapter"], r["language"]) for r in rows)
    parts = [
        "<!doctype html><html lang='en'><meta charset='utf-8'>",
        f"<title>{html.escape(heading)}</title>",
        "<style>body{font:14px sans-serif;margin:2em}td,th{border:1px solid #ccc;"
        "padding:4px 8px;vertical-align:top}table{border-collapse:collapse}"
        "th{background:#eee}.m{font-weight:bold}</style>",
        f"<h1>{html.escape(heading)}</h1>",
        f"<p>{len(rows)} mentions, up to {max(cells.values(), default=0)} per chapter and "
        "language. Mark rejected rows with <code>reject</code> in the <code>verdict</code> "
        "column of <code>sample.csv</code> and pass it to the next run with "
        "<code>--rejections</code>.</p>",
        "<table><tr>" + "".join(f"<th>{c}</th>" for c in COLUMNS[:7]) + "</tr>",
    ]
    for r in rows:
        cells_html = "".join(
            f"<td class='m'>{html.escape(r[c])}</td>" if c == "mention"
            else f"<td>{html.escape(r[c])}</td>"
            for c in COLUMNS[:7]
        )  # fmt: skip
        parts.append(f"<tr>{cells_html}</tr>")
    parts.append("</table></html>\n")
    with atomic_text_writer(html_path) as fh:
        fh.write("\n".join(parts))
    return csv_path, html_path


def read_rejections(path: Path) -> tuple[list[tuple[str, str, str]], int]:
    """Rejected ``(mention, code, language)`` rows of a filled-in sample, and how many rows
    were reviewed in all.

    Raises:
        ReviewError: missing columns, or a verdict that is neither a rejection nor an
            acceptance (the message gives the line).
    """
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = {"mention", "code", "language", "verdict"} - set(reader.fieldnames or ())
            if missing:
                raise ReviewError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
            rejected, total = [], 0
            for row in reader:
                total += 1
                verdict = (row["verdict"] or "").strip().lower()
                if verdict in REJECT:
                    rejected.append((row["mention"], row["code"], row["language"]))
                elif verdict not in ACCEPT:
                    raise ReviewError(f"{path}:{reader.line_num}: verdict {verdict!r} is "
                                      "neither reject nor ok")  # fmt: skip
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ReviewError(f"{path}: cannot read the review ({exc})") from exc
    return rejected, total

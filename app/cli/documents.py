"""``cielo code-documents``: code whole clinical notes in batch, one JSON object per note.

The same analyser as the desktop app's Documento tab (:mod:`app.document.analyse`), loaded
once; notes are read under the one reading policy (:mod:`app.textio`) and streamed: each
record is written as soon as its note is analysed. A note that cannot be read gets one line
on stderr and the others go on; the exit status is 1 when any failed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import click

from app.atomic import atomic_text_writer
from app.cli.common import encoding_option, handle_errors, open_search
from app.document.analyse import DocumentAnalyzer, analyzer_for
from app.document.records import document_record
from app.errors import CieloError
from app.search.pipeline import RETRIEVERS
from app.textio import read_text_file

#: Codes proposed per mention unless ``--top-k`` says otherwise (as the Documento tab).
DEFAULT_TOP_K = 5


def note_paths(paths: tuple[Path, ...]) -> Iterator[Path | str]:
    """The notes to code, in input order: a file as given, a directory's ``.txt`` files
    sorted by name; a directory without any yields a message (a str) instead."""
    for path in paths:
        if str(path) != "-" and path.is_dir():
            notes = sorted(
                (p for p in path.iterdir() if p.suffix.lower() == ".txt" and p.is_file()),
                key=lambda p: p.name,
            )
            if not notes:
                yield f"{path}: no .txt files in this folder"
            yield from notes
        else:
            yield path


def code_notes(
    analyzer: DocumentAnalyzer, paths: tuple[Path, ...], out: TextIO, top_k: int,
    encoding: str | None, min_confidence: float | None,
) -> tuple[int, int]:
    """Write one JSON line per readable note to ``out``; returns (notes coded, failures).

    A note that cannot be read (:class:`app.textio.TextFileError`) is reported on stderr
    as ``Error: <file>: <why>`` and skipped.
    """
    done = failed = 0
    for item in note_paths(paths):
        if isinstance(item, str):
            click.echo(f"Error: {item}", err=True)
            failed += 1
            continue
        try:
            text = read_text_file(item, encoding)
        except CieloError as exc:
            click.echo(f"Error: {exc}", err=True)
            failed += 1
            continue
        name = "<stdin>" if str(item) == "-" else str(item)
        record = document_record(name, analyzer.analyse(text, top_k=top_k), min_confidence)
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()
        done += 1
    return done, failed


@click.command("code-documents")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="JSON Lines output file, written aside and renamed into place when done "
    "(default: stdout, as each note is coded).",
)
@click.option(
    "--top-k", "-k", default=DEFAULT_TOP_K, show_default=True, type=click.IntRange(1, 100),
    help="Codes proposed per mention.",
)
@encoding_option
@click.option(
    "--min-confidence", type=click.FloatRange(0.0, 1.0), default=None,
    help="Keep only candidates whose calibrated confidence is at least this (a mention "
    "left with none gets \"abstained\": true and is not accepted).",
)
@click.option(
    "--no-aliases", is_flag=True, help="Search titles and inclusion terms only (no aliases)."
)
@click.option(
    "--retriever", type=click.Choice(RETRIEVERS), default="hybrid", show_default=True,
    help="First stage of each mention's search (as cielo search).",
)
@click.option("--no-rerank", is_flag=True, help="The first stage alone (as cielo search).")
@handle_errors
def code_documents(
    paths: tuple[Path, ...], output: Path | None, top_k: int, encoding: str | None,
    min_confidence: float | None, no_aliases: bool, retriever: str, no_rerank: bool,
) -> None:
    """Find and code the diagnostic mentions of clinical notes; one JSON object per note.

    PATH is a note file (UTF-8 unless --encoding; a byte-order mark decides), a folder (its
    .txt files, sorted by name) or - for stdin. Each output line, in input order:
    {"document": PATH, "truncated": bool, "mentions": [{"start", "end", "text", "negated",
    "cue", "uncertain", "uncertainty_cue", "accepted", "abstained", "candidates": [{"code",
    "title_es", "title_en", "valid", "confidence", "confidence_level"}, ...]}, ...]}, with
    offsets into the decoded note. A note that cannot be read gets one line on stderr and the
    others go on; the exit status is then 1.

    Example: cielo code-documents notas/ --top-k 3 -o notas.jsonl
    """
    pipeline = open_search(no_aliases, retriever, no_rerank, min_confidence)
    analyzer = analyzer_for(pipeline)  # the Documento tab's analyser, loaded once
    if output is None:
        with click.open_file("-", "w", encoding="utf-8") as stdout:
            _, failed = code_notes(analyzer, paths, stdout, top_k, encoding, min_confidence)
    else:
        with atomic_text_writer(output) as out:
            _, failed = code_notes(analyzer, paths, out, top_k, encoding, min_confidence)
    if failed:
        raise SystemExit(1)

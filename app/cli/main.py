"""The ``cielo`` command: search, batch coding, code lookup and catalog management.

Results go to stdout (text or JSON); messages and progress go to stderr; failures exit
non-zero with a one-line message.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TextIO

import click

from app import __version__
from app.atomic import atomic_text_writer
from app.catalog.details import code_details
from app.cli.bench import bench
from app.cli.catalog import catalog
from app.cli.common import (
    echo_json,
    encoding_option,
    handle_errors,
    json_option,
    load_store,
    open_search,
    top_k_option,
)
from app.cli.documents import code_documents
from app.cli.gui import gui
from app.cli.verify import verify
from app.errors import CieloError
from app.integrity import ensure_resources_intact
from app.search.pipeline import RETRIEVERS, SearchPipeline
from app.search.spelling import understanding_dict, understanding_lines
from app.search.types import SearchResult
from app.textio import read_text_file, text_lines

#: Commands that run on tampered resources: they only report (``verify``) or read nothing.
UNCHECKED_COMMANDS = frozenset({"verify"})


@click.group()
@click.version_option(__version__, prog_name="cielo")
@click.option("-v", "--verbose", is_flag=True, help="Log progress details to stderr.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Cielo: offline CIE-10-ES / ICD-10-CM diagnosis coding.

    Every command first checks the bundled resources against their manifest and refuses to
    run on tampered ones (`cielo verify` lists the files).

    Example: cielo search "fractura del cuello del fémur"
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if ctx.invoked_subcommand not in UNCHECKED_COMMANDS and not ctx.resilient_parsing:
        try:
            ensure_resources_intact()
        except CieloError as exc:
            raise click.ClickException(str(exc)) from None


no_aliases_option = click.option(
    "--no-aliases", is_flag=True, help="Search titles and inclusion terms only (no aliases)."
)
retriever_option = click.option(
    "--retriever", type=click.Choice(RETRIEVERS), default="hybrid", show_default=True,
    help="First stage: bm25 (lexical), dense (bi-encoder over the vector index) or hybrid "
    "(both, fused); exact aliases join each unless --no-aliases.",
)


no_rerank_option = click.option(
    "--no-rerank", is_flag=True,
    help="The first stage alone: skip the learned ranker (or the cross-encoder) and keep the "
    "first stage's order, with its own calibrated confidence.",
)


def _format_result(rank: int, r: SearchResult) -> str:
    valid = "válido" if r.valid else "no válido"
    title = r.title_es or r.title_en
    note = " (título de la categoría)" if r.title_es_inherited else ""
    confidence = f", confianza {r.confidence_level} {r.confidence:.2f}" if r.confidence else ""
    lines = [f"{rank:>2}. {r.code:<9} {title}{note}  [{valid}, cap. {r.chapter}{confidence}]"]
    if r.title_es and r.title_en:
        lines.append(f"    {'':<9} en: {r.title_en}")
    if r.completion is not None:
        c = r.completion
        how = f"según «{', '.join(c.cues)}»" if c.read_from_query else "por defecto"
        lines.append(f"    {'':<9} → código completo {c.code} ({c.meaning_shown}; {how})")
    diff = r.explanation.difference if r.explanation else None
    if diff is not None and (diff.this or diff.other):
        this, other = " ".join(diff.this) or "—", " ".join(diff.other) or "—"
        lines.append(f"    {'':<9} ≠ {diff.other_code} ({diff.aspect}): {this} / {other}")
    return "\n".join(lines)


@cli.command()
@click.argument("text")
@top_k_option
@json_option
@no_aliases_option
@retriever_option
@no_rerank_option
@handle_errors
def search(
    text: str, top_k: int, as_json: bool, no_aliases: bool, retriever: str, no_rerank: bool
) -> None:
    """Search codes for a clinical mention or a typed code.

    Hybrid search (the default) needs a vector index that serves the active catalog; without
    one it says why on stderr and searches with BM25 + aliases. The cross-encoder then
    reorders the best candidates and gives each a confidence (alta/media/baja).

    Words the catalog does not know are corrected against its vocabulary and everyday terms
    ("culebrilla") read as clinical ones; both are searched as well as the text as typed, and
    said first ("¿Quería decir …?"; in JSON: "corrected", "corrections", "lay_terms").

    Example: cielo search "IAM inferior" --top-k 5 --json
    """
    pipeline = open_search(no_aliases, retriever, no_rerank)
    results = pipeline.search(text, top_k=top_k)
    query = pipeline.analyze(text)
    if as_json:
        echo_json(
            {"query": text, **understanding_dict(query),
             "results": [r.to_dict() for r in results]}
        )
        return
    for line in understanding_lines(query):
        click.echo(line)
    if not results:
        click.echo("Sin resultados.", err=True)
        return
    for rank, result in enumerate(results, 1):
        click.echo(_format_result(rank, result))


@cli.command("code-mentions")
@click.argument(
    "file", type=click.Path(exists=True, allow_dash=True, dir_okay=False, path_type=Path)
)
@top_k_option
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="JSON Lines output file, written whole or not at all (default: stdout).",
)
@encoding_option
@no_aliases_option
@retriever_option
@no_rerank_option
@click.option(
    "--min-confidence", type=click.FloatRange(0.0, 1.0), default=None,
    help="Abstain: keep only candidates whose calibrated confidence is at least this "
    "(a line with none left gets \"abstained\": true).",
)
@handle_errors
def code_mentions(
    file: Path, top_k: int, output: Path | None, encoding: str | None, no_aliases: bool,
    retriever: str, no_rerank: bool, min_confidence: float | None,
) -> None:
    """Code one mention per input line; write one JSON object per line, in order.

    Each output line is {"mention": ..., "abstained": bool, "candidates": [{"code",
    "title_es", "title_en", "valid", "score", "confidence", "confidence_level"}, ...]}; an
    empty input line gives an empty candidate list. Use - for stdin. The input is read
    whole first (see --encoding); a file that is not text is refused.

    Example: cielo code-mentions mentions.txt --top-k 5 --min-confidence 0.5 -o coded.jsonl
    """
    mentions = text_lines(read_text_file(file, encoding))
    pipeline = open_search(no_aliases, retriever, no_rerank, min_confidence)
    if output is None:  # streamed, line by line
        with click.open_file("-", "w", encoding="utf-8") as stdout:
            _code_lines(pipeline, mentions, top_k, min_confidence, stdout)
        return
    with atomic_text_writer(output) as out:  # whole or not at all
        _code_lines(pipeline, mentions, top_k, min_confidence, out)


def _code_lines(
    pipeline: SearchPipeline, mentions: list[str], top_k: int, min_confidence: float | None,
    out: TextIO,
) -> None:
    """Write one JSON line per mention to ``out`` (see ``code-mentions``)."""
    for mention in mentions:
        results = pipeline.search(mention, top_k=top_k) if mention.strip() else []
        kept = results
        if min_confidence is not None:
            kept = [r for r in results if (r.confidence or 0.0) >= min_confidence]
        record = {
            "mention": mention,
            "abstained": bool(results) and not kept,
            "candidates": [
                {
                    "code": r.code,
                    "title_es": r.title_es,
                    "title_en": r.title_en,
                    "valid": r.valid,
                    "score": round(r.score, 6),
                    "confidence": None if r.confidence is None else round(r.confidence, 4),
                    "confidence_level": r.confidence_level,
                }
                for r in kept
            ],
        }
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


@cli.command()
@click.argument("code")
@json_option
@handle_errors
def lookup(code: str, as_json: bool) -> None:
    """Show a code: hierarchy path, titles, notes, validity, 7th characters, children.

    Example: cielo lookup t81.31xa
    """
    store = load_store()
    details = code_details(store, code)
    record, ancestors, notes = details.record, details.ancestors, details.notes
    children, seventh = details.children, details.seventh_characters
    data = {
        "code": record.code,
        "kind": record.kind,
        "valid": record.valid,
        "title_es": record.title_es,
        "title_es_source": record.title_es_source,
        "title_es_from": record.title_es_from,
        "title_en": record.title_en,
        "path": [{"code": a.code, "kind": a.kind, "title": a.title} for a in ancestors],
        "notes": [{"kind": n.kind, "text": n.text, "from": n.from_code} for n in notes],
        "seventh_characters": seventh,
        "seventh_characters_es": details.seventh_characters_es,
        "children": [{"code": c.code, "title": c.title, "valid": c.valid} for c in children],
        "edition": store.edition,
    }
    if as_json:
        echo_json(data)
        return
    click.echo(" > ".join([*(a.code for a in ancestors), record.code]))
    validity = "válido" if record.valid else "no válido: elija un código más específico"
    click.echo(f"{record.code}  {validity}")
    if record.title_es:
        suffix = f" (título de {record.title_es_from})" if record.title_es_inherited else ""
        click.echo(f"  es: {record.title_es}{suffix}")
    click.echo(f"  en: {record.title_en}")
    for note in notes:
        origin = "" if note.from_code == record.code else f" [{note.from_code}]"
        click.echo(f"  {note.kind}{origin}: {note.text}")
    if seventh:
        spanish = details.seventh_characters_es
        click.echo(
            "  7º carácter: " + "; ".join(f"{k} = {spanish[k] or v}" for k, v in seventh.items())
        )
    for child in children:
        click.echo(f"  - {child.code:<9} {child.title}{'' if child.valid else ' …'}")


cli.add_command(bench)
cli.add_command(catalog)
cli.add_command(code_documents)
cli.add_command(gui)
cli.add_command(verify)


def main() -> None:  # pragma: no cover - console entry point alias
    """Entry point for ``python -m app.cli.main``."""
    cli()


if __name__ == "__main__":  # pragma: no cover
    main()




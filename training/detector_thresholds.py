"""Choose the mention detector's span thresholds by cross-validation on CodiEsp train.

    python -m training.detector_thresholds [--codiesp ../shared/data/codiesp] [--catalog DB]
        [--out training/reports/codiesp-dev/documents/detector_thresholds.json]

Two settings of ``app.document.spotter.SpotterConfig`` decide which stretches of a note
document mode shows: ``detector_min_inside`` (read the CRF's spans from its per-word marginal
probabilities, a word inside a mention when ``P(B) + P(I)`` reaches it; None: the Viterbi
tags) and ``mention_min_precision`` (drop a mention whose text train says is seldom one).
They are chosen here without dev: the 500 train notes are split into :data:`FOLDS` folds (as
``training.mention_detector`` splits them); for each fold a CRF is trained on the other
folds (its own alias feature cross-fitted inside them), the spotter statistics are learned
from the other folds and the lexicon holds the Spanish titles plus the other folds' gold
mentions (as a dev note sees train's). Every fold's notes are then spotted and detected once
and each :data:`GRID` point is scored on all 500 notes (span overlap, as
``training.document_metrics``). The rule (:func:`choose`): among the points whose span
overlap precision and recall reach the issue's targets (:data:`TARGET_PRECISION`,
:data:`TARGET_RECALL`), the one whose smaller margin over them is largest (the point least
likely to fall under either target on other notes: the best F1 among them sits on a
target's edge by construction); when none reaches both, the highest overlap F1. The fusion
is ``lexicon+crf`` (the spotter's span kept where both found one: it codes better).

About 5 minutes on 2 cores (five CRFs). The result is written as JSON; the defaults of
``SpotterConfig`` are set from it by hand, and ``python -m training.evaluate_documents``
reports it next to the dev figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from app.document.analyse import fused_spans
from app.document.detector import MentionDetector, ScoredSpan, tagged_spans
from app.document.lexicon import Lexicon
from app.document.segment import Span, Token, sentences, tokens
from app.document.spotter import Spotter, SpotterConfig
from app.search.abbreviations import AbbreviationTable
from training.catalogs import train_catalog
from training.codiesp_documents import DEFAULT_CODIESP, Document, read_documents
from training.document_lexicon import learn_stats
from training.document_metrics import DocumentResult, PredictedMention, span_scores
from training.mention_detector import FOLDS, alias_lexicon, train

log = logging.getLogger(__name__)

DEFAULT_OUT = Path("training/reports/codiesp-dev/documents/detector_thresholds.json")
#: The issue's span targets (CodiEsp dev): overlap precision and recall.
TARGET_PRECISION = 0.85
TARGET_RECALL = 0.82
#: ``detector_min_inside`` values tried (None: Viterbi tags).
MIN_INSIDE = (None, 0.5, 0.45, 0.4, 0.35, 0.3)
#: ``mention_min_precision`` values tried (0: off).
MIN_PRECISION = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
GRID = tuple((inside, precision) for inside in MIN_INSIDE for precision in MIN_PRECISION)
#: The spotter variant the thresholds are chosen for (the app's default fusion).
BASE = SpotterConfig(
    detector="lexicon+crf", detector_min_code_confidence=0.0, code_min_confidence=0.0
)


@dataclass
class Sentence:
    """One sentence of a held-out note: its words, Viterbi tags and per-word marginals."""

    toks: list[Token]
    tags: list[str]
    marginals: list[tuple[float, float, float]]


@dataclass
class HeldOut:
    """A held-out train note: its lexicon spans, tagged sentences and its fold's spotter."""

    doc: Document
    spotted: list[Span]
    sentences: list[Sentence]
    spotter: Spotter


def detected_spans(note: HeldOut, min_inside: float | None) -> list[ScoredSpan]:
    """The detector's spans of a held-out note, as ``MentionDetector.spans`` reads them."""
    return [span for s in note.sentences
            for span in tagged_spans(s.toks, s.tags, s.marginals, min_inside)]  # fmt: skip


def held_out_notes(
    docs: Sequence[Document], titles: Lexicon, table: AbbreviationTable, workdir: Path
) -> list[HeldOut]:
    """Every note of ``docs`` spotted and detected by models that never saw its fold."""
    notes: list[HeldOut] = []
    for fold in range(FOLDS):
        start = time.perf_counter()
        held = [d for k, d in enumerate(docs) if k % FOLDS == fold]
        others = [d for k, d in enumerate(docs) if k % FOLDS != fold]
        aliases = alias_lexicon(others)
        lexicon = Lexicon(dict(titles.entries), dict(titles.longest))
        for words in aliases.entries:
            lexicon.add(" ".join(words), "alias")
        spotter = Spotter(lexicon, learn_stats(others, lexicon, table), BASE, table)
        model = train(others, titles, table, workdir / f"fold{fold}.crfsuite", 0.05, 0.05)
        detector = MentionDetector(model, aliases, titles, table)
        for doc in held:
            spans = sentences(doc.text)
            tagged = []
            for sentence in spans:
                toks = tokens(doc.text, sentence.start, sentence.end)
                if not toks:
                    continue
                tags = detector.tagger.tag(detector.sentence_features(doc.text, toks))
                tagged.append(Sentence(toks, list(tags), detector.marginals(len(toks))))
            notes.append(HeldOut(doc, spotter.spans(doc.text, spans), tagged, spotter))
        log.info("fold %d: %d notes in %.0f s", fold, len(held), time.perf_counter() - start)
    return notes


def grid_scores(notes: Sequence[HeldOut]) -> list[dict]:
    """Span overlap figures of every :data:`GRID` point over the held-out notes."""
    rows = []
    for min_inside, min_precision in GRID:
        config = replace(BASE, detector_min_inside=min_inside, mention_min_precision=min_precision)
        results = []
        for note in notes:
            spotter = note.spotter
            spotter.config = config
            spans = fused_spans(
                note.doc.text, note.spotted, detected_spans(note, min_inside), spotter
            )
            results.append(
                DocumentResult(
                    note.doc.doc_id,
                    note.doc.gold,
                    tuple(PredictedMention(s.start, s.end) for s in spans),
                )
            )
        scores = span_scores(results)
        rows.append(
            {
                "detector_min_inside": min_inside,
                "mention_min_precision": min_precision,
                **{
                    k: scores[k]
                    for k in ("overlap_precision", "overlap_recall", "overlap_f1", "predicted")
                },
            }
        )
    return rows


def margin(row: dict) -> float:
    """How far a grid point is above the nearer of the two targets (negative: under one)."""
    return min(row["overlap_precision"] - TARGET_PRECISION, row["overlap_recall"] - TARGET_RECALL)


def choose(rows: Sequence[dict]) -> dict:
    """The chosen grid point: the largest :func:`margin` among those reaching both targets,
    else the best overlap F1.

    Example: ``choose([{"overlap_precision": .86, "overlap_recall": .83, "overlap_f1": .84},
    {"overlap_precision": .80, "overlap_recall": .90, "overlap_f1": .85}])`` is the first
    """
    meeting = [r for r in rows if margin(r) >= 0.0]
    if meeting:
        return max(meeting, key=margin)
    return max(rows, key=lambda r: r["overlap_f1"])


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m training.detector_thresholds",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--codiesp", type=Path, default=DEFAULT_CODIESP)
    parser.add_argument(
        "--catalog", type=Path, help="A catalog (its Spanish titles are read; default: build one)."
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    docs = read_documents(args.codiesp, "train")
    table = AbbreviationTable.default()
    with tempfile.TemporaryDirectory() as tmp:
        store = train_catalog(args.catalog, Path(tmp))
        titles = Lexicon.from_store(store, aliases=False)
        store.close()
        notes = held_out_notes(docs, titles, table, Path(tmp))
    rows = grid_scores(notes)
    chosen = choose(rows)
    report = {
        "split": "train",
        "folds": FOLDS,
        "documents": len(docs),
        "rule": f"among the points with overlap P >= {TARGET_PRECISION} and R >= "
        f"{TARGET_RECALL} on cross-fitted train, the largest smaller margin over the "
        "two (else the best F1)",
        "fusion": BASE.detector,
        "chosen": chosen,
        "grid": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(chosen))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

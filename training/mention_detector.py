"""Train the document-mode mention detector (a CRF, ``app.document.detector``) on CodiEsp train.

    python -m training.mention_detector [--codiesp ../shared/data/codiesp]
        [--out training/runs/detector/mentions.crfsuite] [--catalog DB]
        [--c1 0.05 --c2 0.05] [--grid]

The model is crfsuite's own file (about 3 MB; ``app.document.detector`` runs it with
python-crfsuite, no torch). It ships as ``resources/document/mentions.crfsuite`` only when
``python -m training.evaluate_documents`` (which measures it as the ``crf``/``lexicon+crf``
variants) shows it beats the lexicon spotter on dev; it does not yet (see
``training/reports/codiesp-dev/documents/report.md``).

Data: the CodiEsp **train** case texts and their ``DIAGNOSTICO`` spans (``trainX.tsv``); dev
is read only to choose the regularisation (``--grid``) and report span figures. Words are
tagged B/I/O per sentence (:func:`bio_tags`). **Discontinuous spans** ("masa ...
retroperitoneal"): fragments with at most :data:`MAX_GAP_WORDS` words between them are
tagged as one span covering the gap (the words a coder reads together: "dilatación de la vía
pielocalicial"); otherwise each fragment is tagged as its own span. A span that crosses a
sentence break starts again (``B``) in the next sentence. Overlapping gold spans: the longest is
tagged first and a span that would overlap an already tagged word is skipped.

The alias feature is **cross-fitted**: a train note sees as aliases only the mentions of the
other :data:`FOLDS` folds (as a dev note sees only train's, and a user's note train + dev's),
so the CRF does not learn that every alias match is a mention. Titles and abbreviations come
from the catalog and the bundled table.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from app.document.detector import (
    FEATURE_VERSION,
    MentionDetector,
    abbreviation_flags,
    lexicon_marks,
    word_features,
)
from app.document.lexicon import Lexicon
from app.document.segment import Token, sentences, tokens
from app.search.abbreviations import AbbreviationTable
from app.search.normalize import normalize_text
from training.catalogs import train_catalog
from training.codiesp_documents import DEFAULT_CODIESP, Document, read_documents

log = logging.getLogger(__name__)

#: Where the trained model goes unless ``--out`` says otherwise (not bundled).
RUN_MODEL = Path("training/runs/detector/mentions.crfsuite")
#: Folds of the cross-fitted alias feature.
FOLDS = 5
#: A discontinuous mention's fragments this close (words between) are one span.
MAX_GAP_WORDS = 3
#: Regularisation grid tried on dev with ``--grid`` (c1, c2).
GRID = ((0.0, 0.05), (0.05, 0.05), (0.1, 0.01), (0.2, 0.1))


def gold_word_spans(doc: Document, toks: Sequence[Token]) -> list[tuple[int, int]]:
    """Gold mentions as word-index spans ``[i, j)`` of ``toks`` under the discontinuous
    rule (module docstring), longest first."""
    def words(start: int, end: int) -> tuple[int, int] | None:
        idx = [k for k, t in enumerate(toks) if t.start < end and start < t.end]
        return (idx[0], idx[-1] + 1) if idx else None

    out: list[tuple[int, int]] = []
    for mention in doc.gold:
        parts = [w for w in (words(s, e) for s, e in mention.fragments) if w is not None]
        if not parts:
            continue
        parts.sort()
        merged = [parts[0]]
        for part in parts[1:]:
            if part[0] - merged[-1][1] <= MAX_GAP_WORDS:
                merged[-1] = (merged[-1][0], max(merged[-1][1], part[1]))
            else:
                merged.append(part)
        out.extend(merged)
    return sorted(set(out), key=lambda s: (-(s[1] - s[0]), s[0]))


def bio_tags(n: int, spans: Sequence[tuple[int, int]]) -> list[str]:
    """B/I/O tags of ``n`` words for word spans, longest first, skipping overlaps.

    Example: ``bio_tags(4, [(0, 2), (1, 3), (3, 4)]) == ["B", "I", "O", "B"]``
    """
    tags = ["O"] * n
    for i, j in sorted(spans, key=lambda s: (-(s[1] - s[0]), s[0])):
        if any(t != "O" for t in tags[i:j]):
            continue
        tags[i] = "B"
        for k in range(i + 1, j):
            tags[k] = "I"
    return tags


def mention_norms(doc: Document) -> set[str]:
    """The folded texts of a document's gold mentions (as the catalog stores aliases)."""
    return {normalize_text(" ".join(doc.text[s:e] for s, e in g.fragments)) for g in doc.gold}


def alias_lexicon(docs: Sequence[Document]) -> Lexicon:
    """A lexicon of the gold mentions of ``docs`` (aliases as the catalog would have them)."""
    lexicon = Lexicon()
    for doc in docs:
        for norm in mention_norms(doc):
            lexicon.add(norm, "alias")
    return lexicon


def document_sequences(
    doc: Document, aliases: Lexicon, titles: Lexicon, table: AbbreviationTable
) -> tuple[list[list[dict]], list[list[str]], list[list[Token]]]:
    """Features, gold tags and tokens of each sentence of one document."""
    feats, labels, toks_all = [], [], []
    all_toks = tokens(doc.text)
    spans = gold_word_spans(doc, all_toks)
    tags_all = bio_tags(len(all_toks), spans)
    # a sentence's words are the whole text's (offsets and folded form are the key)
    by_start = {(t.start, t.norm): tag for t, tag in zip(all_toks, tags_all, strict=True)}
    for sentence in sentences(doc.text):
        toks = tokens(doc.text, sentence.start, sentence.end)
        if not toks:
            continue
        tags = [by_start.get((t.start, t.norm), "O") for t in toks]
        if tags[0] == "I":  # a gold span across a sentence break starts again
            tags[0] = "B"
        norms = [t.norm for t in toks]
        feats.append(word_features(
            doc.text, toks, lexicon_marks(norms, aliases, aliases.longest),
            lexicon_marks(norms, titles, titles.longest),
            abbreviation_flags(doc.text, toks, table),
        ))
        labels.append(tags)
        toks_all.append(toks)
    return feats, labels, toks_all


def span_scores(docs: Sequence[Document], predicted: Sequence[Sequence[tuple[int, int]]]
                ) -> dict[str, float]:
    """Span overlap precision and recall of predicted character spans against gold
    fragments (as ``training.document_metrics``), micro over documents."""
    tp_p = n_p = tp_g = n_g = 0
    for doc, preds in zip(docs, predicted, strict=True):
        golds = [f for g in doc.gold for f in g.fragments]
        gold_spans = {tuple(g.fragments) for g in doc.gold}
        n_p += len(preds)
        n_g += len(gold_spans)
        tp_p += sum(any(s < ge and gs < e for gs, ge in golds) for s, e in preds)
        tp_g += sum(
            any(s < fe and fs < e for s, e in preds for fs, fe in frags) for frags in gold_spans
        )
    p = tp_p / n_p if n_p else 0.0
    r = tp_g / n_g if n_g else 0.0
    return {"overlap_precision": p, "overlap_recall": r,
            "overlap_f1": 2 * p * r / (p + r) if p + r else 0.0, "predicted": n_p}


def train(
    train_docs: Sequence[Document], titles: Lexicon, table: AbbreviationTable, out: Path,
    c1: float, c2: float, max_iterations: int = 150,
    extra: Sequence[Sequence[Sequence[dict]]] | None = None,
) -> Path:
    """Train a CRF on ``train_docs`` (cross-fitted alias feature) and write crfsuite's
    model file to ``out``; ``extra``: more features per document, sentence and word (merged
    into :func:`document_sequences`' own)."""
    import sklearn_crfsuite

    xs, ys = [], []
    for fold in range(FOLDS):
        held = [k for k in range(len(train_docs)) if k % FOLDS == fold]
        aliases = alias_lexicon([d for k, d in enumerate(train_docs) if k % FOLDS != fold])
        for k in held:
            f, y, _ = document_sequences(train_docs[k], aliases, titles, table)
            if extra is not None:
                f = [[{**word, **more} for word, more in zip(sentence, added, strict=True)]
                     for sentence, added in zip(f, extra[k], strict=True)]
            xs.extend(f)
            ys.extend(y)
    out.parent.mkdir(parents=True, exist_ok=True)
    crf = sklearn_crfsuite.CRF(
        algorithm="lbfgs", c1=c1, c2=c2, max_iterations=max_iterations,
        all_possible_transitions=True, model_filename=str(out),
    )
    start = time.perf_counter()
    crf.fit(xs, ys)
    log.info("trained on %d sentences in %.0f s (c1=%s c2=%s)", len(xs),
             time.perf_counter() - start, c1, c2)
    return out


def detect(detector: MentionDetector, docs: Sequence[Document]) -> tuple[list, float]:
    """The detector's character spans per document, and the mean seconds per note."""
    start = time.perf_counter()
    spans = [[(s.start, s.end) for s in detector.spans(doc.text)] for doc in docs]
    return spans, (time.perf_counter() - start) / max(1, len(docs))


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m training.mention_detector",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--codiesp", type=Path, default=DEFAULT_CODIESP)
    parser.add_argument("--out", type=Path, default=RUN_MODEL)
    parser.add_argument("--catalog", type=Path,
                        help="A catalog with CodiEsp train aliases only (default: build one).")
    parser.add_argument("--c1", type=float, default=0.05)
    parser.add_argument("--c2", type=float, default=0.05)
    parser.add_argument("--max-iterations", type=int, default=150)
    parser.add_argument("--grid", action="store_true", help="Choose c1/c2 on dev (GRID).")
    parser.add_argument("--report", type=Path,
                        default=Path("training/reports/codiesp-dev/documents/detector.json"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    train_docs = read_documents(args.codiesp, "train")
    dev_docs = read_documents(args.codiesp, "dev")
    table = AbbreviationTable.default()
    with tempfile.TemporaryDirectory() as tmp:
        store = train_catalog(args.catalog, Path(tmp))
        titles = Lexicon.from_store(store, aliases=False)
        dev_aliases = Lexicon.from_store(store, titles=False)
        store.close()
        grid = GRID if args.grid else ((args.c1, args.c2),)
        runs = []
        best = None
        for c1, c2 in grid:
            path = Path(tmp) / f"crf-{c1}-{c2}.crfsuite"
            train(train_docs, titles, table, path, c1, c2, args.max_iterations)
            detector = MentionDetector(path, dev_aliases, titles, table)
            spans, per_note = detect(detector, dev_docs)
            scores = {"c1": c1, "c2": c2, **span_scores(dev_docs, spans),
                      "seconds_per_note": per_note, "model_bytes": path.stat().st_size}
            log.info("%s", scores)
            runs.append(scores)
            if best is None or scores["overlap_f1"] > best[0]["overlap_f1"]:
                best = (scores, path)
        assert best is not None
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_bytes(best[1].read_bytes())
    report = {"feature_version": FEATURE_VERSION, "folds": FOLDS,
              "max_gap_words": MAX_GAP_WORDS, "chosen": best[0], "runs": runs,
              "train_documents": len(train_docs), "dev_documents": len(dev_docs)}
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(best[0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

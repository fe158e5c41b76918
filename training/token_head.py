"""A token-classification head on the bundled encoder's contextual word vectors, measured
against the CRF detector (issue 18: "measure both, ship what wins").

    python -m training.token_head [--codiesp ../shared/data/codiesp] [--model resources/model]
        [--out training/reports/codiesp-dev/documents] [--cache training/runs/token_head]
        [--limit N]

The bundled query encoder (``resources/model/encoder.onnx``, int8, run by onnxruntime as the
app runs it) reads each sentence of a note; the output of its last layer, before pooling, is
each sub-word's contextual vector, and a word's vector is the mean of its sub-words'. A
multinomial logistic regression over these vectors tags each word ``B``/``I``/``O`` (the
CRF's tags and discontinuous-span rule, :func:`training.mention_detector.bio_tags`), and spans
are read from its probabilities as from the CRF's marginals
(:func:`app.document.detector.marginal_spans`), with ``min_inside`` chosen by cross-validation
on train (never on dev). Vectors are computed once per split and cached under ``--cache``
(regenerable, not bundled).

Reported on CodiEsp dev (span overlap, as ``training.evaluate_documents``): the head alone, the
CRF alone (the bundled model and thresholds), the shipped default (lexicon + CRF) and the
default plus the head's spans that overlap none of its mentions, coded through the app's
pipeline with the rule of detector-only mentions (``app.document.analyse.is_proposed``), for
code set figures; and the encoder's time per note, which the default does not spend.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.atomic import atomic_path, atomic_text_writer
from app.document.detector import TAGS, marginal_spans
from app.document.segment import Token, sentences, tokens
from app.document.spotter import SpotterConfig
from app.search.encoder import TOWER_INPUT
from training.catalogs import train_catalog
from training.codiesp_documents import DEFAULT_CODIESP, Document, read_documents
from training.mention_detector import bio_tags, gold_word_spans, span_scores

log = logging.getLogger(__name__)

DEFAULT_MODEL = Path("resources/model")
DEFAULT_CACHE = Path("training/runs/token_head")
DEFAULT_OUT = Path("training/reports/codiesp-dev/documents")
#: Sub-words per encoder window (the query prefix and special tokens come on top).
WINDOW = 192
#: ``min_inside`` grid searched by cross-validation on train.
GRID = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
FOLDS = 3
#: Regularisation of the logistic regression (inverse strength).
C = 1.0
SPAN_KEYS = ("overlap_precision", "overlap_recall", "overlap_f1")
PRF = ("precision", "recall", "f1")


def hidden_state_model(encoder: Path) -> bytes:
    """The encoder's ONNX graph with one more output, ``token_vectors``: the query tower's
    last hidden state, the tensor the mean pooling reads.

    Raises:
        ValueError: no pooling (``ReduceSum`` over a masked product) in the main graph.
    """
    import onnx

    model = onnx.load(str(encoder))
    graph = model.graph
    producers = {out: node for node in graph.node for out in node.output}
    for node in graph.node:
        if node.op_type == "ReduceSum" and node.input[0] in producers:
            masked = producers[node.input[0]]
            if masked.op_type == "Mul":
                hidden = masked.input[0]
                break
    else:
        raise ValueError(f"{encoder}: no pooling over the last hidden state in the main graph")
    graph.output.append(onnx.helper.make_tensor_value_info(
        "token_vectors", onnx.TensorProto.FLOAT, ["batch", "sequence", "hidden"]))
    graph.node.append(onnx.helper.make_node("Identity", [hidden], ["token_vectors"]))
    return model.SerializeToString()


class WordVectors:
    """Contextual vectors of a note's words from the bundled encoder (onnxruntime).

    Example: ``WordVectors(Path("resources/model")).sentence(text, toks)``
    """

    def __init__(self, model_dir: Path, threads: int = 2):
        import onnxruntime
        from tokenizers import Tokenizer

        config = json.loads((model_dir / "encoder.json").read_text(encoding="utf-8"))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(
            hidden_state_model(model_dir / "encoder.onnx"), options,
            providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # "query: " alone ends in a lone "▁" piece; before a text the space is the text's
        self.prefix = self.tokenizer.encode(config.get("query_prefix", "").rstrip(),
                                            add_special_tokens=False).ids
        self.digest = hashlib.sha256((model_dir / "encoder.onnx").read_bytes()).hexdigest()
        self.bos = self.tokenizer.token_to_id("<s>")
        self.eos = self.tokenizer.token_to_id("</s>")

    def sentence(self, text: str, toks: Sequence[Token]) -> np.ndarray:
        """``[len(toks), hidden]``: each word's vector, the mean of its sub-words' (a long
        sentence is read in windows of :data:`WINDOW` sub-words)."""
        lo, hi = toks[0].start, toks[-1].end
        encoding = self.tokenizer.encode(text[lo:hi], add_special_tokens=False)
        ids, offsets = encoding.ids, encoding.offsets
        vectors = []
        for begin in range(0, len(ids), WINDOW):
            window = [self.bos, *self.prefix, *ids[begin : begin + WINDOW], self.eos]
            feeds = {"input_ids": np.array([window], dtype=np.int64),
                     "attention_mask": np.ones((1, len(window)), dtype=np.int64)}
            if TOWER_INPUT in self.inputs:
                feeds[TOWER_INPUT] = np.array(True)
            out = self.session.run(["token_vectors"], feeds)[0][0]
            vectors.append(out[1 + len(self.prefix) : -1])
        sub = np.concatenate(vectors)
        words = np.zeros((len(toks), sub.shape[1]), np.float32)
        for w, tok in enumerate(toks):
            inside = [k for k, (s, e) in enumerate(offsets)
                      if s + lo < tok.end and tok.start < e + lo]
            if inside:
                words[w] = sub[inside].mean(axis=0)
        return words


def document_words(doc: Document, vectors: WordVectors
                   ) -> tuple[list[np.ndarray], list[list[str]], list[list[Token]]]:
    """Word vectors, gold tags and tokens of each sentence of one document (the CRF's
    sentences, tags and discontinuous-span rule)."""
    all_toks = tokens(doc.text)
    tags_all = bio_tags(len(all_toks), gold_word_spans(doc, all_toks))
    by_start = {(t.start, t.norm): tag for t, tag in zip(all_toks, tags_all, strict=True)}
    xs, ys, ts = [], [], sentence_tokens(doc.text)
    for toks in ts:
        tags = [by_start.get((t.start, t.norm), "O") for t in toks]
        if tags[0] == "I":
            tags[0] = "B"
        xs.append(vectors.sentence(doc.text, toks))
        ys.append(tags)
    return xs, ys, ts


def sentence_tokens(text: str) -> list[list[Token]]:
    """The words of each sentence of a note that has any (the CRF's sentences)."""
    out = []
    for sentence in sentences(text):
        toks = tokens(text, sentence.start, sentence.end)
        if toks:
            out.append(toks)
    return out


def cached_split(docs: Sequence[Document], vectors: WordVectors, path: Path) -> list[tuple]:
    """:func:`document_words` of every document, read from ``path`` when already computed
    for these documents with this encoder (tokens are recomputed: they are cheap)."""
    import pickle

    key = {"docs": [d.doc_id for d in docs], "encoder": vectors.digest}
    if path.exists():
        with path.open("rb") as handle:
            cached = pickle.load(handle)
        if cached["key"] == key:
            return [(xs, ys, sentence_tokens(d.text))
                    for d, (xs, ys) in zip(docs, cached["rows"], strict=True)]
    out = []
    for number, doc in enumerate(docs, 1):
        out.append(document_words(doc, vectors))
        if number % 50 == 0:
            log.info("encoded %d/%d notes", number, len(docs))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        pickle.dump({"key": key, "rows": [(xs, ys) for xs, ys, _ in out]}, handle)
    return out


def stack(rows: Sequence[tuple]) -> tuple[np.ndarray, np.ndarray]:
    """Every word's vector and tag index over the documents ``rows``."""
    x = np.concatenate([v for xs, _, _ in rows for v in xs])
    y = np.array([TAGS.index(t) for _, ys, _ in rows for tags in ys for t in tags])
    return x, y


def fit(rows: Sequence[tuple], seed: int = 13):
    """A standardised multinomial logistic regression over the words of ``rows``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = stack(rows)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=300,
                                                               random_state=seed))
    model.fit(x, y)
    return model


def head_marginals(model, rows: Sequence[tuple]) -> list[list[np.ndarray]]:
    """Per document and sentence, each word's ``(B, I, O)`` probabilities from the head (a
    tag train never showed has probability 0)."""
    columns = [list(model.classes_).index(k) if k in model.classes_ else None
               for k in range(len(TAGS))]
    out = []
    for xs, _, _ in rows:
        doc = []
        for x in xs:
            probs = model.predict_proba(x)
            doc.append(np.stack([probs[:, c] if c is not None else np.zeros(len(x))
                                 for c in columns], axis=1))
        out.append(doc)
    return out


def spans_at(marginals: Sequence[Sequence[np.ndarray]], rows: Sequence[tuple],
             min_inside: float) -> list[list[tuple[int, int]]]:
    """Per document, the character spans read from :func:`head_marginals` at ``min_inside``."""
    out = []
    for doc, (_, _, ts) in zip(marginals, rows, strict=True):
        spans = []
        for marg, toks in zip(doc, ts, strict=True):
            spans.extend((s.start, s.end) for s in marginal_spans(toks, marg.tolist(), min_inside))
        out.append(spans)
    return out


def choose_min_inside(docs: Sequence[Document], rows: Sequence[tuple]) -> dict:
    """``min_inside`` of the best span overlap F1 over :data:`FOLDS` folds of train."""
    held_docs: list[Document] = []
    spans: dict[float, list] = {value: [] for value in GRID}
    for fold in range(FOLDS):
        held = [k for k in range(len(rows)) if k % FOLDS == fold]
        model = fit([rows[k] for k in range(len(rows)) if k % FOLDS != fold])
        held_rows = [rows[k] for k in held]
        marginals = head_marginals(model, held_rows)
        held_docs += [docs[k] for k in held]
        for value in GRID:
            spans[value] += spans_at(marginals, held_rows, value)
    scores = {value: span_scores(held_docs, spans[value]) for value in GRID}
    best = max(scores, key=lambda v: scores[v]["overlap_f1"])
    return {"min_inside": best, "train_cv": {str(k): v for k, v in scores.items()}}


def head_features(model, rows: Sequence[tuple]) -> list[list[list[dict]]]:
    """Per document, sentence and word: the head's ``B`` and ``I`` probabilities as CRF
    features."""
    return [[[{"head_B": float(b), "head_I": float(i)} for b, i, _ in marg] for marg in doc]
            for doc in head_marginals(model, rows)]


def stacked_rows(store, head, train_docs: Sequence[Document], dev_docs: Sequence[Document],
                 train_rows: Sequence[tuple], dev_rows: Sequence[tuple], min_inside: float
                 ) -> dict[str, dict]:
    """The CRF retrained here without and with the head's probabilities as features (on
    train, out of fold over the CRF's own folds; on dev, ``head``'s), its marginal spans at
    ``min_inside`` on dev; lexicons from ``store`` (train aliases only)."""
    import pycrfsuite

    from app.document.lexicon import Lexicon
    from app.search.abbreviations import AbbreviationTable
    from training.mention_detector import FOLDS as CRF_FOLDS
    from training.mention_detector import document_sequences, train

    extra_train: list = [None] * len(train_rows)
    for fold in range(CRF_FOLDS):
        held = [k for k in range(len(train_rows)) if k % CRF_FOLDS == fold]
        model = fit([r for k, r in enumerate(train_rows) if k % CRF_FOLDS != fold])
        for k, features in zip(held, head_features(model, [train_rows[k] for k in held]),
                               strict=True):
            extra_train[k] = features
    extra_dev = head_features(head, dev_rows)
    table = AbbreviationTable.default()
    titles = Lexicon.from_store(store, aliases=False)
    aliases = Lexicon.from_store(store, titles=False)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in (("crf (retrained here)", None), ("crf + head features", extra_train)):
            path = Path(tmp) / "crf.crfsuite"
            train(train_docs, titles, table, path, 0.05, 0.05, extra=extra)
            tagger = pycrfsuite.Tagger()
            tagger.open(str(path))
            predicted = []
            for k, doc in enumerate(dev_docs):
                feats, _, toks_all = document_sequences(doc, aliases, titles, table)
                spans = []
                for number, (words, toks) in enumerate(zip(feats, toks_all, strict=True)):
                    if extra is not None:
                        words = [{**w, **m} for w, m in zip(words, extra_dev[k][number],
                                                            strict=True)]
                    tagger.set(words)
                    marg = [tuple(tagger.marginal(t, i) for t in TAGS) for i in range(len(toks))]
                    spans.extend((s.start, s.end) for s in marginal_spans(toks, marg, min_inside))
                predicted.append(spans)
            out[name] = span_scores(dev_docs, predicted)
            log.info("%s: %s", name, out[name])
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m training.token_head", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--codiesp", type=Path, default=DEFAULT_CODIESP)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL,
                        help="The encoder bundle (encoder.onnx, encoder.json, tokenizer.json).")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--catalog", type=Path,
                        help="A catalog with CodiEsp train aliases only (default: build one).")
    parser.add_argument("--limit", type=int, help="Only the first N notes of each split.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    train_docs = read_documents(args.codiesp, "train")[: args.limit]
    dev_docs = read_documents(args.codiesp, "dev")[: args.limit]
    vectors = WordVectors(args.model)
    train_rows = cached_split(train_docs, vectors, args.cache / "train.pkl")
    dev_rows = cached_split(dev_docs, vectors, args.cache / "dev.pkl")
    start = time.perf_counter()
    choice = choose_min_inside(train_docs, train_rows)
    model = fit(train_rows)
    fit_seconds = time.perf_counter() - start
    head = spans_at(head_marginals(model, dev_rows), dev_rows, choice["min_inside"])

    times = []
    for doc in dev_docs:
        begin = time.perf_counter()
        for toks in sentence_tokens(doc.text):
            model.predict_proba(vectors.sentence(doc.text, toks))
        times.append((time.perf_counter() - begin) * 1000)

    rows = {"head": span_scores(dev_docs, head)}
    with tempfile.TemporaryDirectory() as tmp:
        store = train_catalog(args.catalog, Path(tmp))
        rows.update(pipeline_rows(store, dev_docs, head))
        rows.update(stacked_rows(store, model, train_docs, dev_docs, train_rows, dev_rows,
                                 SpotterConfig().detector_min_inside))
        store.close()
    payload = {
        "min_inside": choice["min_inside"], "train_cv": choice["train_cv"],
        "dev": rows, "fit_seconds": round(fit_seconds, 1),
        "ms_per_note": {"p50": float(np.percentile(times, 50)),
                        "p95": float(np.percentile(times, 95))},
        "train_notes": len(train_docs), "dev_notes": len(dev_docs),
        "words_train": int(sum(len(t) for _, ys, _ in train_rows for t in ys)),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_text_writer(args.out / "token_head.json") as handle:
        json.dump(payload, handle, indent=2)
    with atomic_text_writer(args.out / "token_head.md") as handle:
        handle.write(render(payload))
    log.info("wrote %s", args.out / "token_head.md")
    return 0


def pipeline_rows(store, docs: Sequence[Document], head: Sequence[Sequence[tuple[int, int]]]
                  ) -> dict[str, dict]:
    """The CRF alone, the shipped default and the default plus the head's new spans, on
    ``docs``, through the app's pipeline and analyser (``store``: train aliases only)."""
    from app.catalog.default import alias_source
    from app.document.analyse import DocumentAnalyzer, is_proposed, load_stats
    from app.document.detector import MentionDetector, ScoredSpan, default_model_path, fuse
    from app.document.types import Mention
    from app.search.bundle import open_pipeline
    from training.document_metrics import DocumentResult, PredictedMention, score_documents
    from training.evaluate import CONFIGS
    from training.evaluate_documents import (
        DEFAULT_VARIANT,
        VARIANTS,
        cached_search,
        invalid_codes,
        predicted,
    )

    pipeline, _ = open_pipeline(store, CONFIGS["hybrid+ranker"]((alias_source("train"),)))
    config = VARIANTS[DEFAULT_VARIANT]
    analyzer = DocumentAnalyzer(pipeline, config=config, stats=load_stats(),
                                detector_model=default_model_path())
    detector = MentionDetector.from_store(store, default_model_path(),
                                          alias_sources=(alias_source("train"),))
    invalid = invalid_codes(store, docs)
    cache: dict = {}
    crf, default, fused = [], [], []
    for doc, extra in zip(docs, head, strict=True):
        crf.append([(s.start, s.end) for s in
                    detector.spans(doc.text, min_inside=config.detector_min_inside)])
        preds = [predicted(coded) for coded in analyzer.analyse(doc.text, 5).mentions]
        default.append(DocumentResult(doc.doc_id, doc.gold, tuple(preds)))
        # the head's spans where the default has none, as a detector-only mention
        both = fuse([ScoredSpan(s, e) for s, e in extra], [ScoredSpan(p.start, p.end)
                                                           for p in preds], prefer="lexicon")
        more = []
        for span in (s for s in both if s.source == "detector"):
            s, e = span.start, span.end
            codes, confidence = cached_search(pipeline, cache, doc.text[s:e], 5)
            mention = Mention(s, e, doc.text[s:e], source="detector")
            more.append(PredictedMention(
                s, e, False, codes,
                is_proposed(mention, (confidence,) if codes else (),
                            config.detector_min_code_confidence, config.code_min_confidence)))
        fused.append(DocumentResult(doc.doc_id, doc.gold,
                                    tuple(sorted(preds + more, key=lambda p: p.start))))
    out = {"crf": span_scores(docs, crf)}
    for name, results in (("default", default), ("default + head", fused)):
        metrics = score_documents(results, invalid)
        out[name] = {
            **{k: metrics[f"kept_span_{k}"] for k in SPAN_KEYS},
            **{f"code_exact_{k}": metrics[f"kept_code_exact_{k}"] for k in PRF},
            "predicted": metrics["mentions"],
        }
    return out


ROWS = (
    "- `head`: the head alone, its spans read from its probabilities at `min_inside`",
    "- `crf`: the bundled CRF detector alone, its marginal spans as the default reads them",
    "- `default`: the shipped document mode (lexicon spotter + CRF, train filter, code "
    "confidence floors), coded by the app's pipeline, as `training.evaluate_documents`",
    "- `default + head`: the default plus the head's spans that overlap none of its mentions, "
    "each coded and proposed by the rule of a detector-only mention",
    "- `crf (retrained here)`: the CRF trained again by this command as "
    "`training.mention_detector` trains it (the baseline of the next row)",
    "- `crf + head features`: the same CRF with the head's P(B) and P(I) of each word as two "
    "more features (out of fold on train: the head trained on the CRF's other 4 folds)",
)


def render(payload: dict) -> str:
    """The report's Markdown."""
    lines = [
        "# Token-classification head on the encoder's word vectors vs the CRF detector", "",
        "Generated by `python -m training.token_head` (CodiEsp dev; the head, its threshold "
        "and the CRF trained on train only).", "",
        f"- Head: logistic regression (C = {C}) over the bundled query encoder's last hidden "
        f"state, a word's vector the mean of its sub-words'; {payload['words_train']} train "
        f"words, fitted in {payload['fit_seconds']} s with the threshold search.",
        f"- `min_inside` {payload['min_inside']}, the best span overlap F1 over {FOLDS} folds "
        "of train.",
        f"- Encoder + head per dev note: p50 {payload['ms_per_note']['p50']:.0f} ms, p95 "
        f"{payload['ms_per_note']['p95']:.0f} ms (spent on top of the default's spotting and "
        "coding).", "",
        "| spans | mentions | span overlap P / R / F1 | codes exact P / R / F1 |",
        "|---|---|---|---|",
    ]
    for name, m in payload["dev"].items():
        span = [m[k] for k in SPAN_KEYS]
        codes = [m.get(f"code_exact_{k}") for k in PRF]
        code_text = " / ".join(f"{v:.3f}" for v in codes) if codes[0] is not None else "-"
        lines.append(f"| {name} | {m['predicted']} | {' / '.join(f'{v:.3f}' for v in span)} "
                     f"| {code_text} |")
    lines += ["", *ROWS, "", "Train cross-validation (span overlap P / R / F1 per `min_inside`):",
              ""]
    for value, m in payload["train_cv"].items():
        lines.append(f"- {value}: {m['overlap_precision']:.3f} / {m['overlap_recall']:.3f} / "
                     f"{m['overlap_f1']:.3f}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())

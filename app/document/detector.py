"""A learned mention detector: a linear-chain CRF over the words of each sentence (BIO tags).

Trained on CodiEsp **train** diagnosis spans by ``python -m training.mention_detector``
(sklearn-crfsuite) and run here with python-crfsuite (no torch): the model is crfsuite's own
file, :data:`MODEL_FILE` under the resources folder. Each word is described by
:func:`word_features`: the word and its neighbours (folded), suffixes and prefix,
orthography (capitals, digits, length), whether it is a known abbreviation, whether it lies
inside a lexicon phrase (a coded mention, i.e. an alias, or a Spanish title: longest match,
B/I) and the punctuation around it. A span's confidence is the mean marginal probability of
its tags.

Spans are read from the tags either as the most likely tag sequence (Viterbi) or, with
``min_inside`` (:meth:`MentionDetector.spans`), from each word's marginal probabilities
(:func:`marginal_spans`): a word lies inside a mention when its probability of ``B`` or ``I``
reaches ``min_inside``, which below 0.5 finds mentions the Viterbi path leaves out.

:func:`fuse` joins the detector's spans with the lexicon spotter's (union: a spotter span
that overlaps no detector span is added with the spotter's confidence), so a mention the
lexicon knows is kept even when the CRF misses it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.document.lexicon import Lexicon
from app.document.segment import Span, Token, sentences, tokens
from app.paths import resources_dir
from app.search.abbreviations import AbbreviationTable

log = logging.getLogger(__name__)

#: The model file, relative to the resources folder.
MODEL_FILE = Path("document") / "mentions.crfsuite"
#: The features' version: a model is only used with the features it was trained on.
FEATURE_VERSION = "1"
#: The spotter's confidence for a span the detector did not find (union).
LEXICON_CONFIDENCE = 0.5

#: Punctuation gaps, folded to a few classes.
_GAP_CLASSES = (("\n", "NL"), (".", "."), (";", ";"), (":", ":"), (",", ","), ("(", "("),
                (")", ")"), ("/", "/"), ("-", "-"))


@dataclass(frozen=True)
class ScoredSpan(Span):
    """A mention span, the confidence in it (0..1) and who found it (``"detector"`` or
    ``"lexicon"``)."""

    confidence: float = 1.0
    source: str = "detector"


def default_model_path(resources: Path | None = None) -> Path:
    """Where the bundled detector model lives."""
    return (resources or resources_dir()) / MODEL_FILE


def _gap(text: str) -> str:
    for char, label in _GAP_CLASSES:
        if char in text:
            return label
    return "_" if text.strip() == "" else "p"


def _shape(word: str) -> str:
    if word.isupper():
        return "UP"
    if word[:1].isupper():
        return "Cap"
    if word.islower():
        return "low"
    return "mix"


def lexicon_marks(norms: Sequence[str], phrases: Lexicon | set[tuple[str, ...]],
                  longest: dict[str, int]) -> list[str]:
    """``B``/``I``/``O`` per word: the longest phrase of ``phrases`` at each word, greedily.

    Example: ``lexicon_marks(["dolor", "toracico"], {("dolor", "toracico")}, {"dolor": 2})``
    is ``["B", "I"]``
    """
    entries = phrases.entries if isinstance(phrases, Lexicon) else phrases
    marks = ["O"] * len(norms)
    i = 0
    while i < len(norms):
        for length in range(min(longest.get(norms[i], 0), len(norms) - i), 0, -1):
            if tuple(norms[i : i + length]) in entries:
                marks[i] = "B"
                for j in range(i + 1, i + length):
                    marks[j] = "I"
                i += length
                break
        else:
            i += 1
    return marks


def word_features(
    text: str, toks: Sequence[Token], alias: Sequence[str], title: Sequence[str],
    abbreviation: Sequence[bool],
) -> list[dict[str, str | float]]:
    """The CRF features of each word of one sentence (see the module docstring)."""
    norms = [t.norm for t in toks]
    out: list[dict[str, str | float]] = []
    n = len(toks)
    for i, tok in enumerate(toks):
        word = text[tok.start : tok.end]
        norm = norms[i]
        before = text[toks[i - 1].end : tok.start] if i else "^"
        after = text[tok.end : toks[i + 1].start] if i + 1 < n else "$"
        f: dict[str, str | float] = {
            "bias": 1.0,
            "w": norm,
            "s3": norm[-3:],
            "s4": norm[-4:],
            "p3": norm[:3],
            "shape": _shape(word),
            "digit": "y" if any(c.isdigit() for c in norm) else "n",
            "len": str(min(len(norm), 8)),
            "abbr": "y" if abbreviation[i] else "n",
            "alias": alias[i],
            "title": title[i],
            "gap-": _gap(before),
            "gap+": _gap(after),
        }
        for d in (-2, -1, 1, 2):
            j = i + d
            if 0 <= j < n:
                f[f"w{d:+d}"] = norms[j]
                f[f"alias{d:+d}"] = alias[j]
                f[f"title{d:+d}"] = title[j]
                if abs(d) == 1:
                    f[f"s3{d:+d}"] = norms[j][-3:]
            else:
                f[f"w{d:+d}"] = "<s>" if j < 0 else "</s>"
        f["w-1|w"] = f"{f['w-1']}|{norm}"
        f["w|w+1"] = f"{norm}|{f['w+1']}"
        out.append(f)
    return out


def abbreviation_flags(text: str, toks: Sequence[Token],
                       table: AbbreviationTable | None) -> list[bool]:
    """True for each word that the abbreviation table reads as an abbreviation."""
    if table is None or not toks:
        return [False] * len(toks)
    lo, hi = toks[0].start, toks[-1].end
    starts = {e.start + lo for e in table.find(text[lo:hi])}
    return [t.start in starts for t in toks]


def bio_spans(toks: Sequence[Token], tags: Sequence[str],
              confidence: Sequence[float] | None = None) -> list[ScoredSpan]:
    """Spans from BIO tags (an ``I`` without a ``B`` starts a span), with the mean
    confidence of their words.

    Example: ``[(s.start, s.end) for s in bio_spans(toks, ["B", "I", "O"])]``
    """
    out: list[ScoredSpan] = []
    begin: int | None = None
    for i, tag in enumerate([*tags, "O"]):
        if begin is not None and tag != "I":
            conf = confidence[begin:i] if confidence is not None else [1.0]
            out.append(ScoredSpan(toks[begin].start, toks[i - 1].end,
                                  sum(conf) / len(conf)))
            begin = None
        if tag == "B" or (tag == "I" and begin is None):
            begin = i
    return out


#: A word inside a marginal span starts a new span when its ``B`` probability is above this.
NEW_SPAN_B = 0.5


def marginal_spans(toks: Sequence[Token], marginals: Sequence[tuple[float, float, float]],
                   min_inside: float) -> list[ScoredSpan]:
    """Spans from per-word marginal probabilities ``(B, I, O)``: runs of words whose ``B + I``
    probability is at least ``min_inside``, a run split where a word's ``B`` probability is
    above :data:`NEW_SPAN_B`; a span's confidence is the mean ``B + I`` of its words.

    Example: ``marginal_spans(toks, [(0.3, 0.1, 0.6), (0.0, 0.5, 0.5), (0.0, 0.0, 1.0)], 0.4)``
    is one span over the first two words (confidence 0.45)
    """
    out: list[ScoredSpan] = []
    begin: int | None = None
    inside = [1.0 - m[2] for m in marginals]
    for i in range(len(toks) + 1):
        word_in = i < len(toks) and inside[i] >= min_inside
        restart = word_in and begin is not None and marginals[i][0] > NEW_SPAN_B
        if begin is not None and (not word_in or restart):
            conf = inside[begin:i]
            out.append(ScoredSpan(toks[begin].start, toks[i - 1].end, sum(conf) / len(conf)))
            begin = None
        if word_in and begin is None:
            begin = i
    return out


#: The tags of a marginal triple, in order.
TAGS = ("B", "I", "O")


def tagged_spans(toks: Sequence[Token], tags: Sequence[str],
                 marginals: Sequence[tuple[float, float, float]],
                 min_inside: float | None) -> list[ScoredSpan]:
    """One tagged sentence's spans: the Viterbi tags' (``min_inside`` None; a word's
    confidence is its tag's marginal, :func:`bio_spans`) or the marginal spans
    (:func:`marginal_spans`).

    Example: ``tagged_spans(toks, ["B", "O"], [(0.9, 0.0, 0.1), (0.0, 0.1, 0.9)], None)``
    """
    if min_inside is None:
        conf = [marginals[i][TAGS.index(tag)] for i, tag in enumerate(tags)]
        return bio_spans(toks, tags, conf)
    return marginal_spans(toks, marginals, min_inside)


class MentionDetector:
    """Tags the words of a note with a crfsuite model (``B``/``I``/``O``).

    Args:
        model_path: crfsuite's model file.
        aliases: coded mentions (the catalog's aliases) as word tuples.
        titles: Spanish title phrases as word tuples.
        abbreviations: the abbreviation table (None: no abbreviation feature).

    Example: ``MentionDetector.from_store(store, path).spans(note)``
    """

    def __init__(self, model_path: Path, aliases: Lexicon, titles: Lexicon,
                 abbreviations: AbbreviationTable | None = None):
        import pycrfsuite  # python-crfsuite: a runtime dependency

        self.model_path = Path(model_path)
        self.tagger = pycrfsuite.Tagger()
        self.tagger.open(str(self.model_path))
        self.labels = frozenset(self.tagger.labels())
        self.aliases = aliases
        self.titles = titles
        self.abbreviations = abbreviations

    @classmethod
    def from_store(cls, store, model_path: Path, abbreviations: AbbreviationTable | None = None,
                   alias_sources: tuple[str, ...] | None = None) -> MentionDetector:
        """A detector whose lexicon features read ``store``'s aliases and titles."""
        aliases = Lexicon.from_store(store, titles=False, alias_sources=alias_sources)
        titles = Lexicon.from_store(store, aliases=False)
        return cls(model_path, aliases, titles, abbreviations)

    def sentence_features(self, text: str, toks: Sequence[Token]) -> list[dict]:
        """The features of one sentence's words."""
        norms = [t.norm for t in toks]
        return word_features(
            text, toks,
            lexicon_marks(norms, self.aliases, self.aliases.longest),
            lexicon_marks(norms, self.titles, self.titles.longest),
            abbreviation_flags(text, toks, self.abbreviations),
        )

    def spans(self, text: str, sentence_spans: Iterable[Span] | None = None,
              min_inside: float | None = None) -> list[ScoredSpan]:
        """The detected mention spans of a note, in text order, with their confidence: the
        Viterbi tags' spans, or with ``min_inside`` the marginal spans (:func:`tagged_spans`)."""
        out: list[ScoredSpan] = []
        for sentence in sentence_spans if sentence_spans is not None else sentences(text):
            toks = tokens(text, sentence.start, sentence.end)
            if not toks:
                continue
            tags = self.tagger.tag(self.sentence_features(text, toks))
            out.extend(tagged_spans(toks, tags, self.marginals(len(toks)), min_inside))
        return out

    def marginals(self, n: int) -> list[tuple[float, float, float]]:
        """``(B, I, O)`` marginal probabilities of the last tagged sentence's ``n`` words."""
        return [tuple(self.tagger.marginal(tag, i) if tag in self.labels else 0.0
                      for tag in TAGS) for i in range(n)]


def fuse(detected: Sequence[ScoredSpan], spotted: Sequence[Span],
         min_confidence: float = 0.0, prefer: str = "detector") -> list[ScoredSpan]:
    """The union of the detector's spans (those of at least ``min_confidence``) and the
    spotter's, sorted and never overlapping. Where two overlap, ``prefer`` says whose span is
    kept: ``"detector"`` (a spotter span then gets :data:`LEXICON_CONFIDENCE`) or
    ``"lexicon"`` (the spotter's spans are coded mentions and titles, which search codes
    best; a detector span is added only where no spotter span is).

    Example: ``fuse([ScoredSpan(0, 5, 0.9)], [Span(3, 8), Span(10, 14)])`` keeps (0, 5) and
    (10, 14); with ``prefer="lexicon"`` (3, 8) and (10, 14)
    """
    kept = [s for s in detected if s.confidence >= min_confidence]
    lexical = [ScoredSpan(s.start, s.end, LEXICON_CONFIDENCE, "lexicon") for s in spotted]
    first, second = (kept, lexical) if prefer == "detector" else (lexical, kept)
    out = list(first)
    for span in second:
        if not any(span.start < k.end and k.start < span.end for k in first):
            out.append(span)
    return sorted(out, key=lambda s: (s.start, s.end))

"""Document mode's entry point: a pasted note in, its coded diagnostic mentions out.

``segment -> spot -> negation -> search each distinct mention -> DocumentAnalysis``.
:class:`DocumentAnalyzer` opens the spotter's resources once (lexicon from the catalog,
train statistics from ``resources/document/``; well under a second) and is reused for every
note; :func:`analyse_document` keeps one per pipeline. Note and mention text are patient
data: nothing here logs them, only counts.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path

from app.document.detector import MentionDetector, default_model_path, fuse
from app.document.lexicon import SpotterStats, default_stats_path
from app.document.negation import governing_scope, negation_scopes
from app.document.segment import sentences
from app.document.spotter import Spotter, SpotterConfig
from app.document.types import CodedMention, DocumentAnalysis, Mention
from app.document.uncertainty import uncertain_cue, uncertainty_scopes
from app.search.normalize import normalize_text
from app.search.pipeline import SearchPipeline
from app.search.types import SearchResult

log = logging.getLogger(__name__)

#: Only this many characters of a note are analysed (about 60 pages of text; a CodiEsp case
#: has ~2,500). Longer input gives ``DocumentAnalysis.truncated``.
MAX_DOCUMENT_CHARS = 100_000
#: How far back from the cap a cut may move to end on a blank instead of inside a word.
_CUT_SLACK = 200
#: Searches an analyser remembers (mention text and ``top_k`` -> results, least recently used
#: dropped first): the notes of a session repeat most mention texts ("fiebre", "HTA") and the
#: pipeline does not change under an analyser, so a repeat costs nothing.
SEARCH_CACHE_SIZE = 4096


def analysed_length(text: str, max_chars: int = MAX_DOCUMENT_CHARS) -> int:
    """How much of ``text`` is analysed: all of it, or up to the last blank before the cap.

    Example: ``analysed_length("a" * 10, max_chars=4) == 4``
    """
    if len(text) <= max_chars:
        return len(text)
    cut = max(text.rfind(" ", max_chars - _CUT_SLACK, max_chars + 1),
              text.rfind("\n", max_chars - _CUT_SLACK, max_chars + 1))
    return cut if cut > 0 else max_chars


def load_stats(path: Path | None = None) -> SpotterStats:
    """The spotter statistics; empty (lexicon-only spotting) with a warning when the file is
    missing.

    Raises:
        StatsFileError: the file exists but cannot be parsed.
    """
    path = path or default_stats_path()
    if not path.exists():
        log.warning("no spotter statistics at %s: spotting with the lexicon only", path)
        return SpotterStats()
    return SpotterStats.read(path)


class DocumentAnalyzer:
    """Finds and codes the diagnostic mentions of notes; build one per session.

    Args:
        pipeline: the search pipeline that codes each mention (its store gives the lexicon,
            its abbreviation table the abbreviations).
        config: the spotter variant (default: the best measured; its ``alias_sources`` default
            to the pipeline's).
        stats: spotter statistics (default: :func:`load_stats`).
        max_chars: the analysis cap (default :data:`MAX_DOCUMENT_CHARS`).
        detector_model: the learned detector's model file, used when ``config.detector`` asks
            for it, as the default does (default: the bundled
            ``resources/document/mentions.crfsuite``; missing or unreadable: lexicon only).

    Example: ``DocumentAnalyzer(pipeline).analyse(note, top_k=5).mentions[0].results[0].code``
    """

    def __init__(
        self,
        pipeline: SearchPipeline,
        config: SpotterConfig | None = None,
        stats: SpotterStats | None = None,
        max_chars: int = MAX_DOCUMENT_CHARS,
        detector_model: Path | None = None,
    ):
        start = time.perf_counter()
        config = config or SpotterConfig()
        if config.alias_sources is None and pipeline.config.aliases:
            config = replace(config, alias_sources=pipeline.config.alias_sources)
        self.pipeline = pipeline
        self.max_chars = max_chars
        self._searches: OrderedDict[tuple[str, int], tuple[SearchResult, ...]] = OrderedDict()
        self._searches_lock = threading.Lock()
        self.spotter = Spotter.from_store(
            pipeline.store,
            stats if stats is not None else load_stats(),
            config,
            pipeline.abbreviations,
        )
        self.detector: MentionDetector | None = None
        if config.detector != "off":
            model = detector_model or default_model_path()
            if model.exists():
                try:
                    self.detector = MentionDetector.from_store(
                        pipeline.store, model, pipeline.abbreviations, config.alias_sources
                    )
                except (ImportError, OSError, ValueError) as exc:
                    log.warning("mention detector unusable (%s): spotting with the lexicon "
                                "only", exc)
            else:
                log.warning("no mention detector at %s: spotting with the lexicon only", model)
        log.info(
            "document spotter ready: %d lexicon phrases in %.0f ms",
            len(self.spotter.lexicon),
            (time.perf_counter() - start) * 1000,
        )

    def find_mentions(self, text: str) -> list[Mention]:
        """The mentions of ``text[:analysed_length(text)]``, in text order, with negation and
        uncertainty.

        Example: ``[m.negated for m in analyzer.find_mentions("Sin fiebre. Tos.")]``
        """
        text = text[: analysed_length(text, self.max_chars)]
        spans = sentences(text)
        scopes = negation_scopes(text, spans)
        doubts = uncertainty_scopes(text, spans)
        mentions = []
        for span in self._spans(text, spans):
            scope = governing_scope(scopes, span.start, span.end)
            doubt = uncertain_cue(doubts, span.start, span.end)
            mentions.append(
                Mention(
                    start=span.start,
                    end=span.end,
                    text=text[span.start : span.end],
                    negated=scope is not None,
                    cue=scope.cue if scope is not None else None,
                    uncertain=doubt is not None,
                    uncertainty_cue=doubt,
                    source=getattr(span, "source", "lexicon"),
                )
            )
        return mentions

    def _spans(self, text: str, sentence_spans: list) -> list:
        """The mention spans: the lexicon spotter's, the detector's, or their union
        (:func:`fused_spans`)."""
        spotted = self.spotter.spans(text, sentence_spans)
        if self.detector is None:
            return fused_spans(text, spotted, None, self.spotter)
        detected = self.detector.spans(text, sentence_spans,
                                       self.spotter.config.detector_min_inside)
        return fused_spans(text, spotted, detected, self.spotter)

    def search(self, text: str, top_k: int = 5) -> tuple[SearchResult, ...]:
        """``pipeline.search(text, top_k)``, remembered for the session
        (:data:`SEARCH_CACHE_SIZE` texts)."""
        key = (text, top_k)
        with self._searches_lock:
            if key in self._searches:
                self._searches.move_to_end(key)
                return self._searches[key]
        results = tuple(self.pipeline.search(text, top_k=top_k))
        with self._searches_lock:
            self._searches[key] = results
            while len(self._searches) > SEARCH_CACHE_SIZE:
                self._searches.popitem(last=False)
        return results

    def forget_searches(self) -> None:
        """Drop the remembered searches (benchmarks time a note as the first of a session)."""
        with self._searches_lock:
            self._searches.clear()

    def code(self, mentions: list[Mention], top_k: int = 5) -> list[CodedMention]:
        """Search each distinct mention text once (:meth:`search`: once per session) and
        attach its results to every mention, with whether it is proposed
        (:func:`is_proposed`; ``SpotterConfig.drop_unproposed``: the others are left out).
        """
        found: dict[str, tuple[SearchResult, ...]] = {}
        for mention in mentions:
            if mention.text not in found:
                found[mention.text] = self.search(mention.text, top_k)
        cfg = self.spotter.config
        out = []
        for m in mentions:
            proposed = is_proposed(m, found[m.text], cfg.detector_min_code_confidence,
                                   cfg.code_min_confidence)
            if proposed or not cfg.drop_unproposed:
                out.append(CodedMention(m, found[m.text], proposed))
        return out

    def analyse(self, text: str, top_k: int = 5) -> DocumentAnalysis:
        """Find and code the mentions of a note (see :func:`analyse_document`)."""
        start = time.perf_counter()
        length = analysed_length(text, self.max_chars)
        mentions = self.find_mentions(text)
        coded = self.code(mentions, top_k)
        log.debug(
            "document analysed: %d chars, %d mentions (%d negated), %d searches, %.0f ms",
            length,
            len(mentions),
            sum(m.negated for m in mentions),
            len({m.text for m in mentions}),
            (time.perf_counter() - start) * 1000,
        )
        truncated = length < len(text)
        return DocumentAnalysis(
            text=text,
            mentions=tuple(coded),
            truncated=truncated,
            analysed_chars=length,
        )


def fused_spans(text: str, spotted: list, detected: list | None, spotter: Spotter) -> list:
    """The note's mention spans from the spotter's and (None: no detector) the detector's,
    as ``spotter.config`` says: each source without the spans whose text train says is
    seldom a mention (``mention_min_precision``, :meth:`Spotter.train_rate`), then the
    detector alone or fused with the spotter (:func:`app.document.detector.fuse`).

    Example: ``fused_spans(note, spotter.spans(note), detector.spans(note), spotter)``
    """
    cfg = spotter.config

    def common(spans: list) -> list:
        if cfg.mention_min_precision <= 0.0:
            return list(spans)
        out = []
        for span in spans:
            rate = spotter.train_rate(normalize_text(text[span.start : span.end]))
            if rate is None or rate >= cfg.mention_min_precision:
                out.append(span)
        return out

    if detected is None:
        return common(spotted)
    detected = common(detected)
    if cfg.detector == "crf":
        return [s for s in detected if s.confidence >= cfg.detector_min_confidence]
    prefer = "lexicon" if cfg.detector == "lexicon+crf" else "detector"
    return fuse(detected, common(spotted), cfg.detector_min_confidence, prefer)


def is_proposed(mention: Mention,
                results: tuple[SearchResult, ...] | tuple[float | None, ...],
                detector_floor: float, floor: float = 0.0) -> bool:
    """Whether a mention's best code (``results[0]``: a result, or its confidence) is
    proposed for the note's code set.

    False for a mention only the detector found whose best code is less confident than
    ``detector_floor``, or has no calibrated confidence to judge it by (a pipeline without
    the learned ranker or a calibration), or without any code; and for any mention whose best
    code has a calibrated confidence under ``floor``.

    Example: ``is_proposed(mention, (0.7,), 0.5, 0.3)``
    """
    best = results[0] if results else None
    confidence = best.confidence if isinstance(best, SearchResult) else best
    if confidence is not None and confidence < floor:
        return False
    if mention.source != "detector" or detector_floor <= 0.0:
        return True
    return confidence is not None and confidence >= detector_floor


_ANALYZERS: weakref.WeakKeyDictionary[SearchPipeline, DocumentAnalyzer] = (
    weakref.WeakKeyDictionary()
)
_ANALYZERS_LOCK = threading.Lock()


def analyzer_for(pipeline: SearchPipeline) -> DocumentAnalyzer:
    """The session's :class:`DocumentAnalyzer` for a pipeline (built on first use)."""
    with _ANALYZERS_LOCK:
        analyzer = _ANALYZERS.get(pipeline)
        if analyzer is None:
            analyzer = _ANALYZERS[pipeline] = DocumentAnalyzer(pipeline)
        return analyzer


def analyse_document(text: str, pipeline: SearchPipeline, top_k: int = 5) -> DocumentAnalysis:
    """Find the diagnostic mentions of a note and propose codes for each.

    Mentions come in text order with character spans into ``text`` (``text[m.start:m.end] ==
    m.text``) and a negation flag and cue; each is coded by ``pipeline.search(m.text,
    top_k)``, once per distinct mention text. Only the first :data:`MAX_DOCUMENT_CHARS`
    characters are analysed (``truncated`` and ``analysed_chars`` say so). Empty or blank
    text gives no mentions. The spotter's resources are opened once per pipeline.

    Example: ``analyse_document("Paciente con neumonía.", pipeline).mentions[0].mention.text``
    """
    return analyzer_for(pipeline).analyse(text, top_k)

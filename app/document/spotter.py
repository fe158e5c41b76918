"""Candidate spotting: find the stretches of a note that name a diagnosis.

Within each phrase (:func:`app.document.segment.phrases`) the spotter reads words left to
right and takes, at each word, the longest lexicon phrase starting there
(:class:`app.document.lexicon.Lexicon`), unless the train statistics say that phrase is
seldom a mention. As :class:`SpotterConfig` says, it also reads abbreviations (``HTA``,
``DM2``: the search pipeline's own table and case rules) when their expansion is in the
lexicon; extends a phrase that train shows is usually part of a longer mention to the right,
over words that usually continue a mention, through "de"/"del"/"en"/... ("dolor" + "en fosa
renal derecha"); and (off by default) starts a mention at a head word that usually begins
one ("síndrome") or matches plurals to singulars. Mentions never overlap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.catalog.store import CatalogStore
from app.document.lexicon import Counts, Lexicon, SpotterStats
from app.document.segment import Span, Token, phrases, sentences, tokens
from app.search.abbreviations import AbbreviationTable
from app.search.normalize import normalize_text

#: Words a mention may extend through when a mention word follows.
CONNECTORS = frozenset({"de", "del", "la", "las", "el", "los", "en", "a", "al", "con"})
#: At most this many connectors in a row inside a mention.
MAX_CONNECTORS = 2


@dataclass(frozen=True)
class SpotterConfig:
    """What the spotter uses; the defaults are the best variant measured on CodiEsp dev
    (``training/reports/codiesp-dev/documents/report.md``).

    Attributes:
        name: a label for reports.
        aliases: lexicon phrases from the catalog's aliases.
        titles: lexicon phrases from the Spanish titles.
        alias_sources: alias sources (None: all in the catalog).
        abbreviations: read abbreviations whose expansion is in the lexicon.
        min_precision: drop a lexicon phrase whose train occurrences overlap a gold mention
            less often than this ...
        min_seen: ... when it occurred at least this often in train (also for ``min_exact``).
        triggers: start a mention at a word that began a gold mention at least
            ``trigger_rate`` of its (at least ``trigger_seen``) train occurrences.
        extend: extend a phrase that is exactly a gold mention in less than ``extend_below``
            of the train occurrences where it overlaps one ...
        extend_below: ... over words that went on with a gold mention at least
            ``continue_rate`` of the (at least ``continue_seen``) times they followed one.
        min_exact: drop a phrase that was exactly a gold mention in less than this share of
            its train occurrences, unless it was extended.
        fold_plurals: match plural and singular forms (:func:`fold_plural`).
        detector: ``"off"`` (this lexicon spotter alone), ``"crf"`` (the learned detector,
            :mod:`app.document.detector`, alone), ``"crf+lexicon"`` (their union, the
            detector's span kept where both found one) or ``"lexicon+crf"`` (their union, the
            spotter's span kept); see :func:`app.document.detector.fuse`. Without a detector
            model (or python-crfsuite): ``"off"``. The default is ``"lexicon+crf"``: the
            spotter's mentions, plus the detector's where the spotter found none.
        detector_min_confidence: detector spans below this confidence are left out.
        detector_min_inside: read the detector's spans from each word's marginal
            probabilities, a word inside a mention when its ``B`` + ``I`` probability is at
            least this (:func:`app.document.detector.marginal_spans`); None: the Viterbi tags.
        mention_min_precision: after detection, drop a mention (either source) whose text,
            as a lexicon phrase or a single word, overlapped a gold mention in less than this
            share of its (at least ``min_seen``) train occurrences (:meth:`Spotter.train_rate`;
            0: off). This and ``detector_min_inside`` were chosen by cross-validation on
            CodiEsp train (``python -m training.detector_thresholds``).
        detector_min_code_confidence: a mention only the detector found is shown but not
            *proposed* (its code stays out of the note's code set and it does not start
            accepted) when its best code's calibrated confidence is below this, or when the
            pipeline gives no calibrated confidence (0: always proposed).
        code_min_confidence: any mention whose best code's calibrated confidence is below
            this is shown but not proposed (0: off; a result without a confidence is not
            judged by it).
        drop_unproposed: leave the mentions that are not proposed out altogether (the
            behaviour before mentions were shown unproposed; for comparison in reports).
    """

    name: str = "lexicon+crf~, train filter, proposed >= 0.5/0.3"
    aliases: bool = True
    titles: bool = True
    alias_sources: tuple[str, ...] | None = None
    abbreviations: bool = True
    min_precision: float = 0.3
    min_seen: int = 3
    triggers: bool = False
    trigger_rate: float = 0.5
    trigger_seen: int = 5
    extend: bool = True
    extend_below: float = 0.5
    continue_rate: float = 0.6
    continue_seen: int = 5
    min_exact: float = 0.1
    fold_plurals: bool = False
    detector: str = "lexicon+crf"
    detector_min_confidence: float = 0.0
    detector_min_inside: float | None = 0.35
    mention_min_precision: float = 0.6
    detector_min_code_confidence: float = 0.5
    code_min_confidence: float = 0.3
    drop_unproposed: bool = False


def fold_plural(word: str) -> str:
    """A crude Spanish singular: ``adenopatias`` -> ``adenopatia``, ``renales`` -> ``renal``.

    Example: ``fold_plural("quistes") == "quiste"``
    """
    if len(word) > 4 and word.endswith("es") and word[-3] in "lrndzj":
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss") and word[-2] not in "u":
        return word[:-1]
    return word


class Spotter:
    """Finds candidate mention spans in a note (no coding, no negation).

    Args:
        lexicon: the diagnostic phrases.
        stats: train statistics (empty: no filtering, triggers or extension).
        config: the variant.
        abbreviations: the abbreviation table (None: abbreviations are not read).

    Example: ``Spotter.from_store(store, stats).spans("Dolor abdominal y fiebre.")``
    """

    def __init__(
        self,
        lexicon: Lexicon,
        stats: SpotterStats | None = None,
        config: SpotterConfig | None = None,
        abbreviations: AbbreviationTable | None = None,
    ):
        self.lexicon = lexicon
        self.stats = stats or SpotterStats()
        self.config = config or SpotterConfig()
        self.abbreviations = abbreviations if self.config.abbreviations else None
        cfg = self.config
        self._continues = frozenset(
            w
            for w, c in self.stats.following.items()
            if c.seen >= cfg.continue_seen and c.rate() >= cfg.continue_rate
        )
        self._triggers = frozenset(
            w
            for w, c in self.stats.words.items()
            if c.seen >= cfg.trigger_seen and c.rate(exact=True) >= cfg.trigger_rate
        )
        # match keys (plural-folded when asked) -> the lexicon phrase they stand for
        self._entries: dict[tuple[str, ...], str] = {}
        self._longest: dict[str, int] = {}
        for words in lexicon.entries:
            key = self._key(words)
            self._entries.setdefault(key, " ".join(words))
            self._longest[key[0]] = max(self._longest.get(key[0], 0), len(key))

    def _key(self, words: Sequence[str]) -> tuple[str, ...]:
        if self.config.fold_plurals:
            return tuple(fold_plural(w) for w in words)
        return tuple(words)

    @classmethod
    def from_store(
        cls,
        store: CatalogStore,
        stats: SpotterStats | None = None,
        config: SpotterConfig | None = None,
        abbreviations: AbbreviationTable | None = None,
    ) -> Spotter:
        """A spotter whose lexicon is read from ``store`` as ``config`` says."""
        config = config or SpotterConfig()
        lexicon = Lexicon.from_store(
            store, aliases=config.aliases, titles=config.titles, alias_sources=config.alias_sources
        )
        return cls(lexicon, stats, config, abbreviations)

    def counts(self, norm: str, entry: str | None = None) -> Counts | None:
        """Train statistics of a phrase as written, else of the lexicon phrase it matched."""
        counts = self.stats.phrases.get(norm)
        if counts is None and entry is not None:
            counts = self.stats.phrases.get(entry)
        return counts

    def train_rate(self, norm: str) -> float | None:
        """How often a mention text (folded) overlapped a gold mention in train: its phrase
        statistics, or for a single word its word statistics; None when seen fewer than
        ``min_seen`` times (or never).

        Example: ``spotter.train_rate("dolor")``
        """
        counts = self.stats.phrases.get(norm)
        if counts is None and " " not in norm:
            counts = self.stats.words.get(norm)
        if counts is None or counts.seen < self.config.min_seen:
            return None
        return counts.rate()

    def allowed(self, counts: Counts | None) -> bool:
        """False when train statistics say a phrase seldom overlaps a mention."""
        if counts is None or counts.seen < self.config.min_seen:
            return True
        return counts.rate() >= self.config.min_precision

    def _match(self, norms: Sequence[str], i: int) -> tuple[int, Counts | None]:
        """The longest allowed lexicon phrase at word ``i``: (length, its statistics)."""
        longest = self._longest.get(self._key(norms[i : i + 1])[0], 0)
        keys = self._key(norms[i : i + longest])
        for length in range(len(keys), 0, -1):
            entry = self._entries.get(keys[:length])
            if entry is None:
                continue
            counts = self.counts(" ".join(norms[i : i + length]), entry)
            if self.allowed(counts):
                return length, counts
        return 0, None

    def _extend(self, norms: Sequence[str], end: int) -> int:
        """The end (exclusive) of a match extended over continuing words and connectors."""
        j = end
        while j < len(norms):
            if norms[j] in self._continues:
                end = j = j + 1
            elif norms[j] in CONNECTORS and j - end < MAX_CONNECTORS:
                j += 1
            else:
                break
        return end

    def _abbreviation_words(self, text: str, phrase: Span, toks: list[Token]) -> set[int]:
        """Indexes of words that are abbreviations of a lexicon phrase."""
        if self.abbreviations is None:
            return set()
        starts = {t.start: k for k, t in enumerate(toks)}
        found: set[int] = set()
        for exp in self.abbreviations.find(text[phrase.start : phrase.end]):
            k = starts.get(phrase.start + exp.start)
            if k is None:
                continue
            norm = normalize_text(exp.expansions[0])
            if tuple(norm.split()) in self.lexicon and self.allowed(self.counts(toks[k].norm)):
                found.add(k)
        return found

    def phrase_spans(self, text: str, phrase: Span) -> list[Span]:
        """Candidate spans inside one phrase, in order, not overlapping."""
        cfg = self.config
        toks = tokens(text, phrase.start, phrase.end)
        norms = [t.norm for t in toks]
        abbreviations = self._abbreviation_words(text, phrase, toks)
        out: list[Span] = []
        i = 0
        while i < len(toks):
            length, counts = self._match(norms, i)
            if not length and i in abbreviations:
                length, counts = 1, self.counts(norms[i])
            trigger = not length and cfg.triggers and norms[i] in self._triggers
            if trigger:
                length = 1
            if not length:
                i += 1
                continue
            end = i + length
            usually_longer = (
                counts is not None
                and counts.covered > 0
                and counts.exact / counts.covered < cfg.extend_below
            )
            if cfg.extend and (trigger or usually_longer):
                end = self._extend(norms, end)
            if (
                end == i + length
                and counts is not None
                and counts.seen >= cfg.min_seen
                and counts.rate(exact=True) < cfg.min_exact
            ):
                i += 1
                continue
            out.append(Span(toks[i].start, toks[end - 1].end))
            i = end
        return out

    def spans(self, text: str, sentence_spans: Sequence[Span] | None = None) -> list[Span]:
        """Candidate mention spans of a whole note, in text order.

        Example: ``[note[s.start:s.end] for s in spotter.spans(note)]``
        """
        out: list[Span] = []
        for sentence in sentence_spans if sentence_spans is not None else sentences(text):
            for phrase in phrases(text, sentence):
                out.extend(self.phrase_spans(text, phrase))
        return out

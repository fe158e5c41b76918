"""The search pipeline that the CLI, the UI and the evaluation share.

``query understanding -> candidate generation (retriever) -> optional reranker -> results``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from app.catalog.store import CatalogStore
from app.search.abbreviations import AbbreviationTable
from app.search.alias import AliasRetriever
from app.search.bm25 import DOC_COVERAGE, BM25Retriever
from app.search.candidates import CandidateGenerator, CandidateSpace
from app.search.code_lookup import CodeLookupRetriever
from app.search.completion import complete_record
from app.search.confidence import FirstStageCalibration
from app.search.explain import explain
from app.search.features import CodePrior, FeatureExtractor
from app.search.fusion import FusionRetriever
from app.search.neighbours import AliasNeighbourRetriever
from app.search.query import analyze_query
from app.search.spelling import vocabulary_for
from app.search.types import Query, Reranker, Retriever, SearchResult

if TYPE_CHECKING:  # the dense stage (onnxruntime, usearch) loads only when used
    from app.search.dense import DenseRetriever
    from app.search.ranker import LearnedRanker

#: First-stage choices: lexical, dense, or both fused.
RETRIEVERS = ("bm25", "dense", "hybrid")


@dataclass(frozen=True)
class PipelineConfig:
    """How to assemble the first stage.

    Attributes:
        retriever: ``"bm25"``, ``"dense"`` or ``"hybrid"`` (BM25 and dense fused); the
            dense stage itself is passed to :func:`build_retriever` (see
            ``app.search.bundle``), and hybrid without it is lexical only.
        aliases: use aliases (exact matching and as BM25 documents).
        alias_sources: restrict aliases to these sources (None: all in the catalog).
        alias_weight: RRF weight of exact alias hits relative to BM25 (1.0).
        dense_weight: RRF weight of dense candidates relative to BM25.
        prefix_last: type-ahead: the last word also matches as a prefix.
        candidate_k: how many first-stage candidates are fetched (the reranker reads the
            first ``top_n`` of them, its own setting).
        rerank: ask for the second stage, the learned ranker (or the cross-encoder when no
            ranker is installed; ``app.search.bundle.open_pipeline`` loads them); False is
            the first stage alone (``--no-rerank``).
    """

    retriever: str = "hybrid"
    aliases: bool = True
    alias_sources: tuple[str, ...] | None = None
    alias_weight: float = 3.0
    dense_weight: float = 1.0
    prefix_last: bool = False
    candidate_k: int = 50
    rerank: bool = True

    def describe(self) -> dict:
        """The configuration as a plain dict (for reports)."""
        return {
            "retriever": self.retriever,
            "aliases": self.aliases,
            "alias_sources": list(self.alias_sources) if self.alias_sources is not None else None,
            "alias_weight": self.alias_weight,
            "dense_weight": self.dense_weight,
            "prefix_last": self.prefix_last,
            "candidate_k": self.candidate_k,
            "rerank": self.rerank,
        }


def first_stage_members(
    store: CatalogStore, config: PipelineConfig, dense: DenseRetriever | None = None
) -> list[tuple[Retriever, float]]:
    """The first stage's ``(retriever, RRF weight)`` members a configuration describes:
    exact aliases (when ``config.aliases``), BM25 (``bm25``, ``hybrid``) and ``dense``
    (``dense``, ``hybrid``).

    Raises:
        ValueError: unknown ``config.retriever``, or ``"dense"`` without ``dense``.
    """
    if config.retriever not in RETRIEVERS:
        raise ValueError(f"retriever must be one of {RETRIEVERS}, not {config.retriever!r}")
    if config.retriever == "dense" and dense is None:
        raise ValueError("the dense retriever needs a dense stage (app.search.bundle.load_dense)")
    members: list[tuple[Retriever, float]] = []
    if config.aliases:
        members.append((AliasRetriever(store, config.alias_sources), config.alias_weight))
    if config.retriever != "dense":
        sources = config.alias_sources if config.aliases else ()
        # Beside a dense stage the translation only fills in; without one it is the only
        # way to the English titles (BM25Retriever's "bridge" mode), and BM25 alone also
        # weighs how much of each document the query holds.
        alone = dense is None or config.retriever == "bm25"
        bm25 = BM25Retriever(store, alias_sources=sources, prefix_last=config.prefix_last,
                             translation="bridge" if alone else "merge",
                             doc_coverage=DOC_COVERAGE if alone else 0.0)
        members.append((bm25, 1.0))
    if dense is not None and config.retriever != "bm25":
        members.append((dense, config.dense_weight))
    return members


def candidate_members(
    store: CatalogStore, config: PipelineConfig, dense: DenseRetriever | None = None
) -> list[tuple[Retriever, float]]:
    """The members whose fusion feeds the learned ranker's candidate space: the first
    stage's, plus alias neighbours (:mod:`app.search.neighbours`) when aliases are used."""
    members = first_stage_members(store, config, dense)
    if config.aliases:
        members.append((AliasNeighbourRetriever(store, config.alias_sources), 1.0))
    return members


def build_retriever(
    store: CatalogStore, config: PipelineConfig, dense: DenseRetriever | None = None
) -> Retriever:
    """The first-stage retriever a configuration describes: its members
    (:func:`first_stage_members`), fused with weighted RRF when there are several.

    Args:
        store: the catalog.
        config: what to assemble.
        dense: the dense stage (``app.search.bundle.load_dense``); hybrid without it is
            aliases + BM25.

    Raises:
        ValueError: unknown ``config.retriever``, or ``"dense"`` without ``dense``.

    Example: ``build_retriever(store, PipelineConfig(aliases=False)).name == "bm25"``
    """
    members = first_stage_members(store, config, dense)
    if len(members) == 1:
        return members[0][0]
    return FusionRetriever(members)


class SearchPipeline:
    """Text or code in, ranked :class:`SearchResult` out.

    Args:
        store: the catalog.
        retriever: the first stage (default: from ``config``).
        reranker: optional second stage (the cross-encoder), unused when ``ranker`` is given.
        abbreviations: the abbreviation table (default: the bundled one).
        config: first-stage assembly when ``retriever`` is not given.
        dense: the dense stage for ``config`` (see :func:`build_retriever`).
        calibration: confidence for first-stage results when no second stage runs.
        ranker: the learned ranker; it orders the candidate space of valid full codes
            (:mod:`app.search.candidates`) built from ``config``'s first-stage members.

    Example: ``SearchPipeline(store).search("fractura del cuello del fémur", top_k=5)``
    """

    def __init__(
        self,
        store: CatalogStore,
        retriever: Retriever | None = None,
        reranker: Reranker | None = None,
        abbreviations: AbbreviationTable | None = None,
        config: PipelineConfig | None = None,
        dense: DenseRetriever | None = None,
        calibration: FirstStageCalibration | None = None,
        ranker: LearnedRanker | None = None,
    ):
        self.store = store
        self.calibration = calibration
        self.config = config or PipelineConfig()
        self.retriever = retriever or build_retriever(store, self.config, dense)
        self.reranker = reranker
        self.ranker = ranker
        self._dense = dense
        self.code_lookup = CodeLookupRetriever(store)
        self.abbreviations = (
            abbreviations if abbreviations is not None else AbbreviationTable.default()
        )
        self.vocabulary = vocabulary_for(
            store, self.config.alias_sources if self.config.aliases else ()
        )

    @cached_property
    def generator(self) -> CandidateGenerator:
        """The ranker's candidate space over ``config``'s members (built on first use)."""
        return CandidateGenerator(
            self.store, candidate_members(self.store, self.config, self._dense),
            depth=self.config.candidate_k, pool_size=self.config.candidate_k,
        )

    @cached_property
    def features(self) -> FeatureExtractor:
        """The ranker's features, with the code prior of ``config``'s alias sources."""
        sources = self.config.alias_sources if self.config.aliases else ()
        return FeatureExtractor(self.store, CodePrior.from_store(self.store, sources))

    def candidate_space(self, query: Query) -> tuple[CandidateSpace, np.ndarray]:
        """The candidate space of an analysed query and its feature matrix: what the learned
        ranker orders (and what ``training.ranker`` learns from, so the two cannot drift)."""
        space = self.generator.generate(query)
        return space, self.features.matrix(query, space)

    def analyze(self, text: str) -> Query:
        """Query understanding only (normalised text, typed code, expansions, spelling
        corrections and lay terms)."""
        return analyze_query(text, self.abbreviations, self.vocabulary)

    def search(self, text: str, top_k: int = 10) -> list[SearchResult]:
        """Ranked results for a query; an empty or meaningless query gives ``[]``.

        A typed code returns the code and the codes extending it; anything else goes
        through the learned ranker over the candidate space when there is one, else the
        retriever and, when present, the reranker. Each result carries its
        explanation and, when it is not a valid code but a 7th character would make it one,
        the completion read from the query's episode words.
        """
        if top_k <= 0:
            return []
        query = self.analyze(text)
        candidates = self.code_lookup.retrieve(query, top_k) if query.code else []
        if not candidates and self.ranker is not None:
            candidates = self.ranker.rank(*self.candidate_space(query))
        elif not candidates:
            candidates = self.retriever.retrieve(query, max(top_k, self.config.candidate_k))
            if self.reranker is not None and candidates:
                candidates = self.reranker.rerank(query, candidates)
            elif self.calibration is not None and candidates:
                candidates = self.calibration.annotate(candidates)
        candidates = candidates[:top_k]
        records = self.store.get_many([c.code for c in candidates])
        candidates = [c for c in candidates if c.code in records]
        explanations = explain(
            self.store, query, [(c.code, c.matched) for c in candidates], records,
            self.config.prefix_last,
        )
        results = []
        for cand, explanation in zip(candidates, explanations, strict=True):
            record = records[cand.code]
            results.append(
                SearchResult(
                    code=record.code,
                    title_es=record.title_es,
                    title_en=record.title_en,
                    title_es_source=record.title_es_source,
                    title_es_from=record.title_es_from,
                    kind=record.kind,
                    chapter=record.chapter,
                    block=record.block,
                    category=record.category,
                    valid=record.valid,
                    score=cand.score,
                    retrievers=tuple(cand.retriever.split("+")),
                    matched_terms=explanation.words,
                    confidence=cand.confidence,
                    explanation=explanation,
                    completion=complete_record(self.store, record, text),
                )
            )
        return results

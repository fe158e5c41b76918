"""The search pipeline on the real default catalog (train aliases)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.catalog.store import CatalogStore
from app.search.bm25 import BM25Retriever, fts_expression
from app.search.fusion import FusionRetriever
from app.search.pipeline import PipelineConfig, SearchPipeline
from app.search.query import MAX_QUERY_CHARS
from app.search.types import Candidate, Query, Retriever


@pytest.fixture(scope="module")
def pipeline(store: CatalogStore) -> SearchPipeline:
    return SearchPipeline(store)


def test_femoral_neck_fracture_lists_s72_0_first(pipeline: SearchPipeline) -> None:
    results = pipeline.search("fractura del cuello del fémur", top_k=5)
    assert results[0].code.startswith("S72.0")
    assert "fractura" in results[0].matched_terms


@pytest.mark.parametrize("typed", ["s72.0", "S7200", "t81.31xa", "I10"])
def test_typed_code_goes_to_code_lookup(pipeline: SearchPipeline, typed: str) -> None:
    from app.codes import format_code

    results = pipeline.search(typed, top_k=5)
    assert results[0].code == format_code(typed)
    assert results[0].retrievers == ("code",)
    assert all(r.code.startswith(format_code(typed)) for r in results)


def test_abbreviation_expansion_reaches_the_code(pipeline: SearchPipeline) -> None:
    query = pipeline.analyze("IAM inferior")
    assert "infarto agudo de miocardio" in query.expanded
    codes = [r.code for r in pipeline.search("IAM inferior", top_k=10)]
    assert any(c.startswith("I21.1") for c in codes)


def test_results_carry_titles_and_flags(pipeline: SearchPipeline) -> None:
    result = pipeline.search("S72.001A", top_k=1)[0]
    data = result.to_dict()
    assert data["code"] == "S72.001A" and data["valid"] is True
    assert data["chapter"] == "19" and data["category"] == "S72"
    assert data["title_en"].startswith("Fracture of unspecified part of neck of right femur")


def test_aliases_only_from_chosen_sources(store: CatalogStore) -> None:
    without = SearchPipeline(store, config=PipelineConfig(aliases=False))
    assert all("alias" not in r.retrievers for r in without.search("hta", top_k=10))
    with_aliases = SearchPipeline(store, config=PipelineConfig(alias_sources=("codiesp-train",)))
    top = with_aliases.search("HTA", top_k=3)
    assert top[0].code == "I10" and "alias" in top[0].retrievers


@pytest.mark.parametrize("text", ["", "   ", "de la con", "¿?¡!", "\x00", "a" * 50_000])
def test_empty_or_odd_queries_do_not_fail(pipeline: SearchPipeline, text: str) -> None:
    results = pipeline.search(text, top_k=5)
    assert isinstance(results, list)


def test_huge_query_is_capped(pipeline: SearchPipeline) -> None:
    query = pipeline.analyze("fractura " * 1000)
    assert query.truncated and len(query.text) <= MAX_QUERY_CHARS


@pytest.mark.parametrize(
    "text",
    ['NOT fractura', 'fractura AND "', 'a OR b', 'col:fractura', '(cuello*', '-fémur', 'NEAR(a b)',
     '"""', "fractura ^ -- ' ;DROP TABLE codes"],
)
def test_fts_syntax_is_plain_text(pipeline: SearchPipeline, text: str) -> None:
    assert isinstance(pipeline.search(text, top_k=3), list)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=200))
def test_any_unicode_returns_a_list(store: CatalogStore, text: str) -> None:
    results = SearchPipeline(store).search(text, top_k=5)
    assert isinstance(results, list)
    assert all(r.code for r in results)


def test_fts_expression_quotes_tokens() -> None:
    assert fts_expression(["fractura", "fem"], prefix_last=True) == '"fractura" OR "fem"*'
    assert fts_expression(["a"], prefix_last=True) == '"a"'


def test_prefix_type_ahead(store: CatalogStore) -> None:
    retriever = BM25Retriever(store, prefix_last=True)
    query = Query(text="hipertension esen", normalized="hipertension esen",
                  expanded="hipertension esen")
    codes = [c.code for c in retriever.retrieve(query, 10)]
    assert "I10" in codes


class _Fixed:
    def __init__(self, name: str, codes: list[str]):
        self.name = name
        self.codes = codes

    def retrieve(self, query: Query, k: int) -> list[Candidate]:
        return [Candidate(c, 1.0, self.name) for c in self.codes[:k]]


def test_fusion_weights_and_ties() -> None:
    query = Query(text="x", normalized="x", expanded="x")
    a, b = _Fixed("a", ["A01", "A02"]), _Fixed("b", ["B01", "A02"])
    assert isinstance(a, Retriever)
    fused = FusionRetriever([(a, 3.0), (b, 1.0)]).retrieve(query, 3)
    assert [c.code for c in fused] == ["A02", "A01", "B01"]
    assert fused[0].retriever == "a+b"
    assert FusionRetriever([(a, 1.0), (b, 1.0)]).retrieve(query, 1)[0].code == "A02"


class _Reverse:
    name = "reverse"

    def rerank(self, query: Query, candidates: list[Candidate]) -> list[Candidate]:
        return candidates[::-1]


def test_reranker_stage_is_applied_when_present(store: CatalogStore) -> None:
    base = [r.code for r in SearchPipeline(store).search("hipertension esencial", top_k=50)]
    reranked = SearchPipeline(store, reranker=_Reverse()).search("hipertension esencial", top_k=50)
    assert [r.code for r in reranked] == base[::-1]

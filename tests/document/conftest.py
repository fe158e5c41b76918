"""Document-mode fixtures: the session catalog's lexical pipeline and one analyzer."""

from __future__ import annotations

import pytest

from app.catalog.store import CatalogStore
from app.document.analyse import DocumentAnalyzer
from app.search.pipeline import SearchPipeline

#: A short Spanish case built from phrases the test catalog knows (train aliases, titles).
CASE = (
    "Varón de 67 años con hipertensión arterial y diabetes mellitus tipo 2. "
    "Acude por dolor abdominal y fiebre. No presenta disnea. Se descartó neumonía. "
    "Sin signos de infección. Antecedente de linfangioma y HTA."
)


@pytest.fixture()
def case_note() -> str:
    """:data:`CASE`."""
    return CASE


@pytest.fixture(scope="session")
def pipeline(store: CatalogStore) -> SearchPipeline:
    """Aliases + BM25 over the session catalog (no dense stage: fast and deterministic)."""
    return SearchPipeline(store)


@pytest.fixture(scope="session")
def analyzer(pipeline: SearchPipeline) -> DocumentAnalyzer:
    """One analyzer with the bundled spotter statistics, as the app builds it."""
    return DocumentAnalyzer(pipeline)
